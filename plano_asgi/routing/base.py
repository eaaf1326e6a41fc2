"""The router protocol: which agent(s) should handle the latest user turn.

A router sees the candidate agents (ids and descriptions, in listener order) and the
conversation, and answers a :class:`RouteDecision`. An empty ``agents`` tuple means "no
agent fits"; the listener then uses the default agent. A router that cannot decide raises
:class:`~plano_asgi.errors.RoutingError`; the listener falls back and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from plano_asgi.chat import ChatMessage

__all__ = ["AgentCandidate", "RouteDecision", "Router"]


@dataclass(frozen=True, slots=True)
class AgentCandidate:
    """An agent as the router sees it."""

    id: str
    description: str


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """What a router decided for one turn.

    ``agents`` are agent ids in the order they should run (possibly empty). ``router`` names
    the router that decided (``local_v1``, ``plano_orchestrator_v1``, ...). ``confidence`` is
    in [0, 1] when the router has a notion of it. ``fallback`` says why another router's
    answer, or the default agent, was used instead (``None`` when the decision is first-hand).
    ``escalated`` is true when a hybrid router asked the LLM router. ``reason`` names the
    kind of decision when the router tells it (``local_v1``: ``first_turn``, ``follow_on``,
    ``two_intents``, ``off_topic``, ``off_topic_later``).
    """

    agents: tuple[str, ...]
    router: str
    confidence: float | None = None
    fallback: str | None = None
    escalated: bool = False
    details: dict[str, float] = field(default_factory=dict)
    reason: str | None = None


@runtime_checkable
class Router(Protocol):
    """Anything that can route a turn. One async method; swap it in through the constructor."""

    name: str

    async def route(
        self, messages: Sequence[ChatMessage], agents: Sequence[AgentCandidate]
    ) -> RouteDecision:
        """Decide which agents handle the latest user turn of ``messages``."""
        ...
