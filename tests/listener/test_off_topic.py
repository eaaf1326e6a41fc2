"""A turn no agent fits: the default agent when one is marked (Plano), else the listener
answers itself with what its agents can do, in the shape the client asked for."""

from __future__ import annotations

import anyio
import pytest

from tests.listener.agents import FakeAgent, FakeOrchestrator
from tests.listener.conftest import listener_config
from tests.listener.support import fakes, listener, user

pytestmark = pytest.mark.anyio

DESCRIPTIONS = {
    "weather": "Weather now and forecasts for any city. Uses Open-Meteo.\nMore lines.",
    "flights": "\n  Nonstop flights between two airports!  Live data.",
}


@pytest.mark.usefixtures("no_local_router")
@pytest.mark.parametrize("stream", [False, True], ids=["json-client", "stream-client"])
async def test_without_a_default_agent_the_listener_says_what_the_agents_can_do(
    stream: bool,
) -> None:
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights, orch=FakeOrchestrator()) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                router="plano_orchestrator_v1",
                orchestrator_url=url["orch"],
                descriptions=DESCRIPTIONS,
            )
            async with listener(config) as srv:
                if stream:
                    streamed = await srv.api.chat.completions.with_raw_response.create(
                        model="m", messages=[user("tell me a joke")], stream=True
                    )
                    parts = [c async for c in streamed.parse()]
                    text = "".join(c.choices[0].delta.content or "" for c in parts if c.choices)
                    assert parts[-1].choices[0].finish_reason == "stop"
                    headers = streamed.headers
                else:
                    whole = await srv.api.chat.completions.with_raw_response.create(
                        model="m", messages=[user("tell me a joke")]
                    )
                    text = whole.parse().choices[0].message.content or ""
                    headers = whole.headers
    assert text == (
        "That is not something I can help with here. I can help with:\n"
        "- Weather now and forecasts for any city.\n"
        "- Nonstop flights between two airports!"
    )
    assert weather.seen == []
    assert flights.seen == []
    assert "x-plano-agents" not in headers  # no agent answered
    assert headers["x-plano-router"] == "plano_orchestrator_v1"


@pytest.mark.usefixtures("no_local_router")
async def test_off_topic_reply_replaces_the_generated_answer() -> None:
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights, orch=FakeOrchestrator()) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                router="plano_orchestrator_v1",
                orchestrator_url=url["orch"],
                listener={"off_topic_reply": "Ask me about weather or flights."},
            )
            async with listener(config) as srv:
                reply = await srv.api.chat.completions.create(
                    model="m", messages=[user("tell me a joke")]
                )
    assert reply.choices[0].message.content == "Ask me about weather or flights."
    assert weather.seen == []
