"""Choosing the agents for a turn, with fallbacks that never fail the request.

* One agent on the listener: it is used, no router is asked.
* The router answers no agent (or only unknown ones): the agent marked ``default: true``, as in
  Plano; with none marked, no agent (an empty selection): the listener answers itself with
  what its agents can help with (:mod:`plano_asgi.listener.capabilities`).
* The router fails (timeout, endpoint down, garbage): the fallback router is asked, and if
  there is none or it fails too, the default agent is used. Plano fails the request with a
  400 instead; we log it and say so in ``x-plano-route-fallback``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import anyio

from plano_asgi.chat import ChatMessage
from plano_asgi.config import AgentListener
from plano_asgi.routing.base import AgentCandidate, Router

__all__ = ["Selection", "Selector"]

logger = logging.getLogger("plano_asgi.listener")


@dataclass(frozen=True, slots=True)
class Selection:
    """The agents for one turn and how they were chosen."""

    agents: tuple[str, ...]
    router: str
    """Who decided: a router name, ``single_agent`` or ``default``."""
    fallback: str | None = None
    """Why the first-choice router's answer was not used, when it was not."""
    elapsed_ms: float = 0.0
    confidence: float | None = None
    """The deciding router's confidence, when it reports one."""
    escalated: bool = False
    """True when a hybrid router handed the turn to its LLM router."""
    details: Mapping[str, float] = field(default_factory=dict)
    """Router-specific numbers (scores, margins) for the routing span."""
    reason: str | None = None
    """The kind of decision, when the router tells it (see ``RouteDecision.reason``)."""
    failures: tuple[tuple[str, str], ...] = ()
    """``(router, error type)`` for every router that failed before this answer."""

    @property
    def fallback_reason(self) -> str | None:
        """A bounded label for :attr:`fallback` (metrics must not carry free text)."""
        if self.fallback is None:
            return None
        if self.failures:
            return "router_error"
        if "no agent matched" in self.fallback:
            return "no_agent_matched"
        return "router_fallback"


class Selector:
    """Asks the listener's routers in turn; see the module docstring for the rules."""

    def __init__(
        self,
        listener: AgentListener,
        router: Router | None,
        fallback: Router | None = None,
    ) -> None:
        if not listener.agents:
            raise ValueError(f"listener '{listener.name}' has no agents")
        self.listener = listener
        self.candidates = tuple(AgentCandidate(a.id, a.description) for a in listener.agents)
        self.default = next((a.id for a in listener.agents if a.default), listener.agents[0].id)
        """Where a turn goes when routing fails: the ``default: true`` agent, else the first."""
        self.has_default = any(a.default for a in listener.agents)
        """Whether an agent is ``default: true`` (it then also gets turns no agent fits)."""
        self.routers = tuple(r for r in (router, fallback) if r is not None)
        self._warmed: set[int] = set()  # indexes into self.routers
        self._warming: anyio.Lock | None = None

    async def warm_up(self) -> None:
        """Load every router's model and embed the agents now, in a worker thread.

        The middleware calls this on lifespan startup. Without a lifespan (under ``Mount``)
        the first request warms the first-choice router the same way (the fallback loads
        when it is first needed), so no request loads a model on the event loop; requests
        arriving meanwhile wait for it. A router that cannot load is logged and left to
        fail (and fall back) per request.
        """
        await self._warm(range(len(self.routers)))

    async def _warm(self, indexes: Iterable[int]) -> None:
        if len(self.candidates) == 1:
            return
        if self._warming is None:
            self._warming = anyio.Lock()
        async with self._warming:
            for index in indexes:
                if index not in self._warmed:
                    await self._warm_router(self.routers[index])
                    self._warmed.add(index)

    async def _warm_router(self, router: Router) -> None:
        prepare = getattr(router, "prepare", None)
        load = getattr(router, "load", None)
        try:
            if callable(prepare):
                await anyio.to_thread.run_sync(prepare, self.candidates)
            elif callable(load):
                await anyio.to_thread.run_sync(load)
        except Exception as exc:
            logger.warning("router %s could not load its model: %s", router.name, exc)

    async def select(self, messages: Sequence[ChatMessage]) -> Selection:
        """The agents that handle the latest turn of ``messages``."""
        started = time.perf_counter()
        if len(self.candidates) == 1:
            return Selection((self.candidates[0].id,), "single_agent", None, _ms(started))
        if self.routers and 0 not in self._warmed:
            await self._warm([0])
        known = {candidate.id for candidate in self.candidates}
        reasons: list[str] = []
        failures: list[tuple[str, str]] = []
        for router in self.routers:
            try:
                decision = await router.route(messages, self.candidates)
                agents = tuple(dict.fromkeys(a for a in decision.agents if a in known))
            except Exception as exc:
                logger.warning(
                    "router %s failed on listener %s: %s", router.name, self.listener.name, exc
                )
                reasons.append(f"{router.name} failed ({_short(exc)})")
                failures.append((router.name, type(exc).__name__))
                continue
            if decision.fallback:
                reasons.append(decision.fallback)
            if not agents and not self.has_default:
                return Selection(
                    (),
                    decision.router,
                    "; ".join(reasons) or None,
                    _ms(started),
                    confidence=decision.confidence,
                    escalated=decision.escalated,
                    details=decision.details,
                    reason=decision.reason or "no_agent",
                    failures=tuple(failures),
                )
            if not agents:
                reasons.append(f"no agent matched, used default agent {self.default}")
                agents = (self.default,)
            elif reasons and router is not self.routers[0]:
                reasons.append(f"used {decision.router}")
            return Selection(
                agents,
                decision.router,
                "; ".join(reasons) or None,
                _ms(started),
                confidence=decision.confidence,
                escalated=decision.escalated,
                details=decision.details,
                reason=decision.reason,
                failures=tuple(failures),
            )
        reasons.append(f"used default agent {self.default}")
        return Selection(
            (self.default,), "default", "; ".join(reasons), _ms(started), failures=tuple(failures)
        )


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:120]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
