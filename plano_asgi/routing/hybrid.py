"""``hybrid_v1``: the local router decides when it is sure; the LLM router when it is not.

Most turns are easy ("book a table for two", "yes please" in a restaurant conversation)
and the embedded router answers them in milliseconds. When its confidence is below the
threshold the turn is escalated to the LLM router (``plano_orchestrator_v1`` or any
:class:`~plano_asgi.routing.base.Router`); if that fails, the local answer stands and the
decision says why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from plano_asgi.chat import ChatMessage
from plano_asgi.routing.base import AgentCandidate, RouteDecision, Router

__all__ = ["DEFAULT_THRESHOLD", "HybridRouter"]

logger = logging.getLogger(__name__)

#: Confidence below which a turn is escalated (tuned on the routing dev set; see the README).
DEFAULT_THRESHOLD = 0.8


class HybridRouter:
    """Local first, LLM when unsure. ``threshold`` is ``overrides.local_router_threshold``."""

    name = "hybrid_v1"

    def __init__(self, local: Router, llm: Router, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.local = local
        self.llm = llm
        self.threshold = threshold

    def load(self) -> None:
        """Load the local router's model now (if it has one to load)."""
        load = getattr(self.local, "load", None)
        if callable(load):
            load()

    def prepare(self, agents: Sequence[AgentCandidate]) -> None:
        """Load the local router's model and embed ``agents`` now (blocking; see LocalRouter)."""
        prepare = getattr(self.local, "prepare", None)
        if callable(prepare):
            prepare(agents)
        else:
            self.load()

    async def route(
        self, messages: Sequence[ChatMessage], agents: Sequence[AgentCandidate]
    ) -> RouteDecision:
        """Ask the local router; escalate below the threshold; keep the local answer on failure."""
        local = await self.local.route(messages, agents)
        details = {**local.details, "local_confidence": _confidence(local)}
        if _confidence(local) >= self.threshold or len(agents) <= 1:
            return RouteDecision(
                local.agents,
                self.name,
                confidence=local.confidence,
                details=details,
                reason=local.reason,
            )
        try:
            llm = await self.llm.route(messages, agents)
        except Exception as exc:  # any failure of the LLM router: keep the local answer
            logger.warning(
                "hybrid_v1: %s failed (%s); keeping the local decision", self.llm.name, exc
            )
            return RouteDecision(
                local.agents,
                self.name,
                confidence=local.confidence,
                fallback=f"{self.llm.name} failed: {type(exc).__name__}",
                escalated=True,
                details=details,
                reason=local.reason,
            )
        return RouteDecision(
            llm.agents,
            self.name,
            confidence=llm.confidence,
            fallback=llm.fallback,
            escalated=True,
            details={**details, **llm.details},
        )


def _confidence(decision: RouteDecision) -> float:
    return 1.0 if decision.confidence is None else decision.confidence
