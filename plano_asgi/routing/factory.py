"""Choosing a listener's router (and its fallback) from the config.

``listeners[].router``:

* ``local_v1``: the embedded offline router (no network).
* ``plano_orchestrator_v1``: an orchestrator LLM (``overrides.agent_orchestration_model``).
* ``hybrid_v1``: the local router first, the LLM when it is unsure.
* omitted: ``hybrid_v1`` when an orchestrator model is configured, else ``local_v1``.

The fallback, used when the chosen router fails, is ``local_v1`` when it can be loaded;
otherwise the listener uses its default agent. A config that asks for the orchestrator but
names no model gets ``local_v1`` and a warning: plano-asgi never sends conversations to
Plano's hosted orchestrator unless you configure it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx2

from plano_asgi.config import AgentListener, PlanoConfig
from plano_asgi.outbound import HttpClient
from plano_asgi.routing.base import Router

__all__ = ["RouterPlan", "build_routers", "load_local_router", "router_kind"]

logger = logging.getLogger("plano_asgi.routing")


@dataclass(frozen=True, slots=True)
class RouterPlan:
    """The router a listener uses and what it falls back to (``None``: the default agent)."""

    primary: Router | None
    fallback: Router | None
    note: str | None = None
    """Why the plan differs from what the config asked for (logged once at startup)."""


def router_kind(config: PlanoConfig, listener: AgentListener) -> str:
    """The router name the listener asks for, with the default applied."""
    if listener.router is not None:
        return listener.router
    return "hybrid_v1" if config.orchestrator_model else "local_v1"


def load_local_router() -> Router | None:
    """A :class:`LocalRouter`, or ``None`` when it (or its optional extra) is not installed."""
    try:
        from plano_asgi.routing.local import LocalRouter
    except ImportError as exc:
        logger.info("local router unavailable: %s", exc)
        return None
    router: Router = LocalRouter()
    return router


def build_routers(
    config: PlanoConfig, listener: AgentListener, *, client: httpx2.AsyncClient | HttpClient
) -> RouterPlan:
    """Build the listener's router and fallback. ``client`` is shared, never closed here."""
    kind = router_kind(config, listener)
    local = load_local_router()
    if kind == "local_v1":
        return RouterPlan(primary=local, fallback=None, note=_missing_local(local))
    if not config.orchestrator_model:
        note = (
            f"router {kind} needs overrides.agent_orchestration_model; the hosted "
            "Plano-Orchestrator is never called implicitly, routing with local_v1"
        )
        return RouterPlan(primary=local, fallback=None, note=note)

    from plano_asgi.routing.orchestrator import OrchestratorRouter

    llm = OrchestratorRouter.from_config(config, client=client)
    if kind == "plano_orchestrator_v1" or local is None:
        missing = None if kind == "plano_orchestrator_v1" else _missing_local(local)
        return RouterPlan(primary=llm, fallback=local, note=missing)
    try:
        from plano_asgi.routing.hybrid import HybridRouter
    except ImportError:
        return RouterPlan(
            primary=llm, fallback=local, note="hybrid_v1 unavailable, routing with the LLM"
        )
    threshold = config.overrides.local_router_threshold
    if threshold is None:
        hybrid: Router = HybridRouter(local=local, llm=llm)
    else:
        hybrid = HybridRouter(local=local, llm=llm, threshold=threshold)
    return RouterPlan(primary=hybrid, fallback=local)


def _missing_local(local: Router | None) -> str | None:
    if local is not None:
        return None
    return (
        "local_v1 is not available (install plano-asgi[router]); every turn goes to the "
        "default agent"
    )
