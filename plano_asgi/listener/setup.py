"""An agent listener's configuration, resolved: :class:`ListenerSetup` and its factory.

:meth:`ListenerSetup.from_config` turns a config (or its path) and the caller's options into
what :class:`~plano_asgi.middleware.PlanoMiddleware` serves with: the listener, the agents'
targets (in-process apps imported next to the config), the router and its fallback, the
filter source, the conversation store, and the :class:`~plano_asgi.listener.runtime.
ListenerRuntime` every exchange shares. It remembers what it created, so
:meth:`ListenerSetup.aclose` closes exactly that; what the caller passed stays the caller's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import httpx2
from opentelemetry.trace import Tracer
from starlette.types import ASGIApp

from plano_asgi.config import AgentListener, HopTimeouts, PlanoConfig, load_config
from plano_asgi.config.apps import import_agent_apps
from plano_asgi.errors import ConfigError, ConfigIssue
from plano_asgi.filters.base import Filter
from plano_asgi.filters.chain import FilterChain
from plano_asgi.listener.runtime import FilterSource, ListenerRuntime
from plano_asgi.listener.selection import Selector
from plano_asgi.listener.transport import AgentTarget
from plano_asgi.outbound import AiohttpClient, HttpClient, as_http_client
from plano_asgi.redaction import Redactor, install_log_redaction
from plano_asgi.routing.base import Router
from plano_asgi.routing.factory import build_routers, load_local_router
from plano_asgi.telemetry.metrics import PlanoMetrics
from plano_asgi.telemetry.stream_span import tracer as library_tracer

if TYPE_CHECKING:
    from plano_asgi.state import ConversationStore

__all__ = ["ListenerOptions", "ListenerSetup"]

logger = logging.getLogger("plano_asgi.listener")


class ListenerOptions(TypedDict, total=False):
    """What an agent listener may be given instead of building it from the config.

    Taken by :meth:`ListenerSetup.from_config` and by
    :class:`~plano_asgi.middleware.PlanoMiddleware` (``PlanoMiddleware(app, config=...,
    ...)`` and :meth:`~plano_asgi.middleware.PlanoMiddleware.from_config`).
    """

    listener: str | None
    """Which agent listener, when the config has several."""
    router: Router | None
    """Your router (``local_v1`` stays behind it as the fallback)."""
    client: HttpClient | httpx2.AsyncClient | None
    """Every outbound call (agents, HTTP filters, the orchestrator); yours to close."""
    filters: FilterSource | Mapping[str, Filter] | None
    """A source of chains (``chain(ids)``) or ``{id: Filter}``."""
    agents: Mapping[str, ASGIApp] | None
    """Agent id -> ASGI app, run in this process with no network hop."""
    tracer: Tracer | None
    """Where spans go (default: the library tracer of the global provider)."""
    metrics: PlanoMetrics | None
    """Where request metrics go (default: the process-wide set)."""
    state: ConversationStore | None
    """The ``/v1/responses`` store (default: what ``state_storage`` describes)."""


@dataclass(slots=True)
class ListenerSetup:
    """What a :class:`~plano_asgi.middleware.PlanoMiddleware` serves with, already resolved."""

    config: PlanoConfig
    listener: AgentListener
    runtime: ListenerRuntime
    """Shared by every exchange: targets, selector, client, filters, telemetry."""
    owned: list[Any] = field(default_factory=list)
    """What the setup created and closes (HTTP client, state store, filter registry)."""

    @classmethod
    def from_config(
        cls, config: PlanoConfig | str | Path, **options: Unpack[ListenerOptions]
    ) -> ListenerSetup:
        """Resolve the agent listener ``listener`` (needed when the config has several).

        ``options`` replace what the config would build (:class:`ListenerOptions`). Raises
        :class:`~plano_asgi.errors.ConfigError` naming every problem found.
        """
        listener = options.get("listener")
        router = options.get("router")
        client = options.get("client")
        filters = options.get("filters")
        agents = options.get("agents")
        tracer = options.get("tracer")
        state = options.get("state")
        config = config if isinstance(config, PlanoConfig) else load_config(config)
        try:
            chosen = config.agent_listener(listener)
        except KeyError as exc:
            raise ConfigError([ConfigIssue("listeners", str(exc.args[0]))]) from None
        owned: list[Any] = []
        targets = _targets(config, chosen, agents or {})
        seam: HttpClient
        if client is None:
            # The agent hop, per request and per token: the measured faster library.
            seam = AiohttpClient()
            owned.append(seam)
        else:
            seam = as_http_client(client)
        if state is None and config.state_storage is not None:
            # Imported only with state_storage: a listener without it loads no store.
            from plano_asgi.state import store_from_config

            state = store_from_config(config.state_storage)
            owned.append(state)
        runtime = ListenerRuntime(
            listener=chosen,
            selector=_selector(config, chosen, router, seam),
            targets=targets,
            client=seam,
            filters=_filter_source(config, chosen, filters, seam, owned),
            tracing=config.tracing,
            # One tracer per listener; a proxy until an SDK is installed, then the real one.
            tracer=tracer if tracer is not None else library_tracer(),
            metrics=options.get("metrics"),
            filter_types={f.id: f.type for f in config.filters},
            conversations=state,
            redactor=Redactor(config.secrets),
        )
        install_log_redaction()
        return cls(config, chosen, runtime, owned)

    async def aclose(self) -> None:
        """Close what :meth:`from_config` created, the last made first; once."""
        owned, self.owned = self.owned, []
        for resource in reversed(owned):
            await resource.aclose()


def _selector(
    config: PlanoConfig, listener: AgentListener, router: Router | None, client: HttpClient
) -> Selector:
    """Your router (with ``local_v1`` behind it), else the routers the config names."""
    if router is not None:
        fallback = None if router.name == "local_v1" else load_local_router()
        return Selector(listener, router, fallback)
    plan = build_routers(config, listener, client=client)
    if plan.note and len(listener.agents) > 1:
        logger.warning("listener %s: %s", listener.name, plan.note)
    return Selector(listener, plan.primary, plan.fallback)


def _targets(
    config: PlanoConfig, listener: AgentListener, apps: Mapping[str, ASGIApp]
) -> dict[str, AgentTarget]:
    """Where each agent of the listener is called: your app, its ``app`` imported next to
    the config, or its ``url``; every problem is reported at once."""
    listed = {agent.id for agent in listener.agents}
    issues = [
        ConfigIssue("agents=", f"'{name}' is not an agent of listener '{listener.name}'")
        for name in apps
        if name not in listed
    ]
    # In-process agents you did not inject, imported next to the config file.
    imported, import_issues = import_agent_apps(
        config, [agent.id for agent in listener.agents if agent.id not in apps]
    )
    issues.extend(import_issues)
    failed = {issue.path for issue in import_issues}
    targets: dict[str, AgentTarget] = {}
    for agent in listener.agents:
        try:
            definition = config.agent(agent.id)
        except KeyError:
            issues.append(ConfigIssue("agents", f"agent '{agent.id}' is not declared"))
            continue
        if f"agents.{agent.id}.app" in failed:
            continue
        app = apps[agent.id] if agent.id in apps else imported.get(agent.id)
        if app is None and definition.url is None:
            issues.append(ConfigIssue(f"agents.{agent.id}", "needs a url or an app"))
            continue
        timeouts = merge_timeouts(listener.timeouts, definition.timeouts)
        targets[agent.id] = AgentTarget(agent.id, definition.url, app, timeouts, api=definition.api)
    if issues:
        raise ConfigError(issues)
    return targets


def merge_timeouts(base: HopTimeouts | None, own: HopTimeouts | None) -> HopTimeouts:
    """The agent's own timeouts over the listener's, field by field.

    An agent that sets only ``idle`` keeps the listener's ``connect`` and ``first_byte``
    (fields it leaves out fall back to the listener, then to the defaults).
    """
    merged = base or HopTimeouts()
    if own is None:
        return merged
    return merged.model_copy(update={name: getattr(own, name) for name in own.model_fields_set})


def _filter_source(
    config: PlanoConfig,
    listener: AgentListener,
    filters: FilterSource | Mapping[str, Filter] | None,
    client: HttpClient,
    owned: list[Any],
) -> FilterSource | None:
    """Yours (a source, or ``{id: Filter}``), else a registry of the config's filters when
    the listener or one of its agents has a chain."""
    if isinstance(filters, Mapping):
        return _MappingFilters(filters)
    if filters is not None:
        return filters
    needed = listener.input_filters or any(a.input_filters for a in listener.agents)
    if not needed:
        return None
    from plano_asgi.filters.registry import FilterRegistry

    registry = FilterRegistry(config, client=client)
    owned.append(registry)
    return registry


class _MappingFilters:
    """Chains from a plain ``{id: Filter}`` mapping (tests, or filters built in code)."""

    def __init__(self, filters: Mapping[str, Filter]) -> None:
        self._filters = dict(filters)

    def chain(self, ids: Sequence[str]) -> FilterChain:
        try:
            return FilterChain([self._filters[fid] for fid in ids])
        except KeyError as exc:
            raise ConfigError([ConfigIssue("filters=", f"no filter '{exc.args[0]}'")]) from None
