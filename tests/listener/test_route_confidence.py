"""The routing decision's confidence and kind reach the client and the trace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import pytest

from plano_asgi.routing.base import AgentCandidate, RouteDecision
from tests.listener.agents import FakeAgent
from tests.listener.conftest import listener_config
from tests.listener.support import fakes, listener, user

pytestmark = pytest.mark.anyio


class Sure:
    """A local router that reports how sure it is."""

    name = "local_v1"

    def __init__(self, confidence: float | None) -> None:
        self.confidence = confidence

    async def route(
        self, messages: Sequence[Any], agents: Sequence[AgentCandidate]
    ) -> RouteDecision:
        return RouteDecision(
            ("flights",), self.name, confidence=self.confidence, reason="first_turn"
        )


@pytest.mark.parametrize(("confidence", "header"), [(0.87654, "0.877"), (None, None)])
async def test_the_confidence_header_carries_the_routers_confidence(
    monkeypatch: pytest.MonkeyPatch, confidence: float | None, header: str | None
) -> None:
    monkeypatch.setattr("plano_asgi.routing.factory.load_local_router", lambda: Sure(confidence))
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]}, router="local_v1"
            )
            async with listener(config) as srv:
                raw = await srv.api.chat.completions.with_raw_response.create(
                    model="m", messages=[user("fly?")]
                )
    assert raw.headers["x-plano-agents"] == "flights"
    assert raw.headers.get("x-plano-route-confidence") == header
