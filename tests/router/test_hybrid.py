"""``hybrid_v1``: the local router when sure, the LLM router when not, local again on failure."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from plano_asgi.chat import ChatMessage
from plano_asgi.errors import RoutingError
from plano_asgi.routing.base import AgentCandidate, RouteDecision, Router
from plano_asgi.routing.hybrid import DEFAULT_THRESHOLD, HybridRouter
from plano_asgi.routing.local import LocalRouter

AGENTS = (
    AgentCandidate("weather", "Weather forecasts for any city."),
    AgentCandidate("flights", "Flight search and flight status between airports."),
)


class Scripted:
    """A router that answers what it is told (or raises), and counts its calls."""

    def __init__(self, name: str, answer: RouteDecision | Exception) -> None:
        self.name = name
        self.answer = answer
        self.calls = 0

    async def route(
        self, messages: Sequence[ChatMessage], agents: Sequence[AgentCandidate]
    ) -> RouteDecision:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


@pytest.mark.anyio
async def test_confident_local_decisions_are_kept() -> None:
    local = Scripted("local_v1", RouteDecision(("weather",), "local_v1", confidence=0.95))
    llm = Scripted("plano_orchestrator_v1", RouteDecision(("flights",), "plano_orchestrator_v1"))
    hybrid = HybridRouter(local=local, llm=llm, threshold=0.7)
    assert isinstance(hybrid, Router)
    decision = await hybrid.route(user("rain tomorrow?"), AGENTS)
    assert decision.agents == ("weather",)
    assert decision.router == "hybrid_v1"
    assert decision.escalated is False
    assert llm.calls == 0


@pytest.mark.anyio
async def test_unsure_turns_escalate_to_the_llm() -> None:
    local = Scripted("local_v1", RouteDecision(("weather",), "local_v1", confidence=0.4))
    llm = Scripted("plano_orchestrator_v1", RouteDecision(("flights",), "plano_orchestrator_v1"))
    decision = await HybridRouter(local=local, llm=llm, threshold=0.7).route(user("hm"), AGENTS)
    assert decision.agents == ("flights",)
    assert decision.escalated is True
    assert decision.fallback is None
    assert decision.details["local_confidence"] == pytest.approx(0.4)
    assert llm.calls == 1


@pytest.mark.anyio
async def test_a_failing_llm_falls_back_to_the_local_answer() -> None:
    local = Scripted("local_v1", RouteDecision(("weather",), "local_v1", confidence=0.2))
    llm = Scripted("plano_orchestrator_v1", RoutingError("timed out after 10s"))
    decision = await HybridRouter(local=local, llm=llm).route(user("hm"), AGENTS)
    assert decision.agents == ("weather",)
    assert decision.escalated is True
    assert decision.fallback == "plano_orchestrator_v1 failed: RoutingError"


@pytest.mark.anyio
async def test_with_the_real_local_router(local_router: LocalRouter) -> None:
    llm = Scripted("plano_orchestrator_v1", RouteDecision(("flights",), "plano_orchestrator_v1"))
    hybrid = HybridRouter(local=local_router, llm=llm)
    assert hybrid.threshold == DEFAULT_THRESHOLD
    clear = await hybrid.route(user("Is my flight UA 123 from Denver delayed?"), AGENTS)
    assert clear.agents == ("flights",)
    assert not clear.escalated
    assert llm.calls == 0
    vague = await hybrid.route(user("what about Rome?"), AGENTS)  # could be either
    assert vague.escalated
    assert vague.agents == ("flights",)
    assert vague.details["local_confidence"] < DEFAULT_THRESHOLD
