"""Preparing agent sets ahead of time, and routing from worker threads concurrently."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import anyio
import pytest

from plano_asgi.chat import ChatMessage
from plano_asgi.routing.base import AgentCandidate
from plano_asgi.routing.hybrid import HybridRouter
from plano_asgi.routing.local import LocalRouter, MiniLMEncoder

AGENTS = (
    AgentCandidate("restaurants", "Finds restaurants and books tables for dinner or lunch."),
    AgentCandidate("hotels", "Searches hotels and books rooms for given dates."),
    AgentCandidate("taxi", "Books a taxi or cab between two places."),
    AgentCandidate("banking", "Checks bank account balances and transfers money."),
)

CONVERSATIONS = [
    ["I'd like a table for two tonight"],
    ["Find me a hotel in Rome for three nights"],
    ["I need a cab to the airport", "Booked for 6am.", "and a hotel room near it"],
    ["What's my checking balance?"],
    ["Book a table for four", "Done, 8pm at Luigi's.", "Great. I also need a ride there."],
    ["Transfer 50 dollars to savings and book a taxi to the bank"],
    ["yes please"],
    ["what is the meaning of life"],
    ["a hotel near the station", "The Grand has rooms.", "how much per night?"],
    ["get me a taxi and a table for two at an Italian place"],
]


def chat(turns: Sequence[str]) -> list[ChatMessage]:
    roles = ("user", "assistant")
    return [ChatMessage(role=roles[i % 2], content=t) for i, t in enumerate(turns)]


class Recording:
    """The real encoder, recording each batch and the thread that asked for it."""

    def __init__(self, inner: MiniLMEncoder) -> None:
        self.inner = inner
        self.calls: list[tuple[list[str], str]] = []
        self.lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Any:
        with self.lock:
            self.calls.append((list(texts), threading.current_thread().name))
        return self.inner.encode(texts)


@pytest.mark.anyio
async def test_prepare_embeds_the_descriptions_so_the_first_turn_does_not(
    minilm: MiniLMEncoder,
) -> None:
    encoder = Recording(minilm)
    router = LocalRouter(encoder=encoder)
    router.prepare(AGENTS)
    router.prepare(AGENTS)  # idempotent
    assert router.profile_builds == 1
    assert len(encoder.calls) == 1
    decision = await router.route(chat(["I'd like a table for two tonight"]), AGENTS)
    assert decision.agents == ("restaurants",)
    assert router.profile_builds == 1
    assert [texts for texts, _ in encoder.calls[1:]] == [["I'd like a table for two tonight"]]
    assert encoder.calls[1][1] != threading.main_thread().name  # routed in a worker thread


@pytest.mark.anyio
async def test_hybrid_prepare_prepares_its_local_router(minilm: MiniLMEncoder) -> None:
    local = LocalRouter(encoder=minilm)
    hybrid = HybridRouter(local=local, llm=local)
    hybrid.prepare(AGENTS)
    assert local.profile_builds == 1


@pytest.mark.anyio
async def test_concurrent_turns_get_the_sequential_decisions(minilm: MiniLMEncoder) -> None:
    sequential = LocalRouter(encoder=minilm)
    expected = [sequential.decide(chat(turns), AGENTS) for turns in CONVERSATIONS]

    encoder = Recording(minilm)
    concurrent = LocalRouter(encoder=encoder)  # cold: every turn races to build the profiles
    results: dict[int, Any] = {}

    async def route(index: int) -> None:
        results[index] = await concurrent.route(chat(CONVERSATIONS[index % 10]), AGENTS)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for index in range(40):
                tg.start_soon(route, index)
    for index, decision in results.items():
        want = expected[index % 10]
        assert decision.agents == want.agents, CONVERSATIONS[index % 10]
        assert decision.confidence == pytest.approx(want.confidence, abs=1e-6)
    assert len(results) == 40
    assert concurrent.profile_builds == 1  # one build, the other turns waited for it
    assert all(thread != threading.main_thread().name for _, thread in encoder.calls)
