"""Router warm-up: the model load and the agents' embeddings happen before the first turn
(lifespan startup) or, with no lifespan, once in a worker thread on the first request."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from plano_asgi.middleware import PlanoMiddleware
from plano_asgi.routing.base import AgentCandidate
from plano_asgi.routing.local import LocalRouter, MiniLMEncoder
from tests.listener.agents import FakeAgent
from tests.listener.conftest import listener_config
from tests.listener.support import client, fakes, user
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

DESCRIPTIONS = {
    "weather": "Gives weather forecasts and current conditions for any city.",
    "flights": "Finds flights between airports and reports delays and gates.",
}


@pytest.fixture(scope="module")
def minilm() -> MiniLMEncoder:
    encoder = MiniLMEncoder()
    encoder.load()
    return encoder


class Recording:
    """The real encoder, recording every batch and the thread that asked for it."""

    def __init__(self, inner: MiniLMEncoder) -> None:
        self.inner = inner
        self.calls: list[tuple[list[str], str]] = []

    def load(self) -> None:
        self.inner.load()

    def encode(self, texts: Sequence[str]) -> Any:
        self.calls.append((list(texts), threading.current_thread().name))
        return self.inner.encode(texts)

    def description_calls(self) -> list[str]:
        """Threads of the batches that embedded an agent description."""
        wanted = set(DESCRIPTIONS.values())
        return [thread for texts, thread in self.calls if wanted & set(texts)]


class PrepareSpy(LocalRouter):
    """A local router that records where :meth:`prepare` ran and with which agents."""

    def __init__(self, encoder: Recording) -> None:
        super().__init__(encoder=encoder)
        self.prepared: list[tuple[tuple[str, ...], str]] = []

    def prepare(self, agents: Sequence[AgentCandidate]) -> None:
        self.prepared.append((tuple(a.id for a in agents), threading.current_thread().name))
        super().prepare(agents)


async def test_lifespan_startup_prepares_the_agents_so_the_first_turn_does_not(
    minilm: MiniLMEncoder,
) -> None:
    encoder = Recording(minilm)
    router = PrepareSpy(encoder)
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    with anyio.fail_after(20):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config(url, descriptions=DESCRIPTIONS)
            app = PlanoMiddleware(None, config=config, router=router)
            async with serve(app, lifespan="on") as srv, client(srv.url) as api:
                assert router.prepared == [(("weather", "flights"), router.prepared[0][1])]
                assert router.profile_builds == 1
                before = len(encoder.calls)
                reply = await api.chat.completions.create(
                    model="m", messages=[user("Will it rain in Oslo tomorrow?")]
                )
    assert reply.choices[0].message.content == "weather says: Will it rain in Oslo tomorrow?"
    assert router.prepared[0][1] != threading.main_thread().name
    assert router.profile_builds == 1  # the turn reused the profiles built at startup
    assert [texts for texts, _ in encoder.calls[before:]] == [["Will it rain in Oslo tomorrow?"]]
    assert all(thread != threading.main_thread().name for thread in encoder.description_calls())


async def test_without_a_lifespan_the_first_request_prepares_in_a_worker_thread(
    minilm: MiniLMEncoder,
) -> None:
    encoder = Recording(minilm)
    router = PrepareSpy(encoder)
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    with anyio.fail_after(20):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config(url, descriptions=DESCRIPTIONS)
            async with PlanoMiddleware(config=config, router=router) as plano:
                # Starlette does not pass its lifespan on to mounted apps.
                app = Starlette(routes=[Mount("/plano", app=plano)])
                async with serve(app, lifespan="on") as srv, client(srv.url + "/plano") as api:
                    assert router.prepared == []
                    questions = ["Any delays on flight UA 12?", "Is there a flight to Rome?"]
                    async with anyio.create_task_group() as tg:
                        for question in questions:
                            tg.start_soon(
                                lambda q: api.chat.completions.create(
                                    model="m", messages=[user(q)]
                                ),
                                question,
                            )
    assert len(router.prepared) == 1  # concurrent first requests share one warm-up
    assert router.prepared[0][1] != threading.main_thread().name
    assert router.profile_builds == 1
    assert len(flights.seen) == 2
    assert encoder.description_calls()
    assert all(thread != threading.main_thread().name for thread in encoder.description_calls())
    assert all(thread != threading.main_thread().name for _, thread in encoder.calls)
