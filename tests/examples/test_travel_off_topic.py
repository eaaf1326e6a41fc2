"""Off-topic turns in the travel assistant get a helpful answer, offline: the listener says
what its agents can do (no agent is ``default: true``), and each agent asked directly says
what it can help with."""

from __future__ import annotations

import anyio
import httpx2
import pytest

from examples.travel.flight_agent import build_flight_agent
from examples.travel.lib.scope import FLIGHT_HELP, WEATHER_HELP
from examples.travel.weather_agent import build_weather_agent
from tests.examples.conftest import Fakes, fixed_clock
from tests.examples.test_travel_e2e import assistant, chat
from tests.support.servers import serve

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("question", ["Tell me a joke", "Who won the 1998 World Cup?"])
async def test_travel_listener_answers_an_off_topic_turn_with_what_it_can_do(
    fakes: Fakes, question: str
) -> None:
    async with assistant(fakes) as client:
        answer = await chat(client, [{"role": "user", "content": question}])
    assert answer.startswith("That is not something I can help with here. I can help with:")
    assert "weather information and forecasts" in answer
    assert "live flight information between airports" in answer
    assert fakes.weather.paths() == []  # no agent was called, so no service either
    assert fakes.flights.paths() == []


@pytest.mark.parametrize(
    ("build", "help_text"),
    [(build_weather_agent, WEATHER_HELP), (build_flight_agent, FLIGHT_HELP)],
    ids=["weather", "flights"],
)
async def test_travel_agent_asked_off_topic_says_what_it_can_help_with(
    fakes: Fakes, build: object, help_text: str
) -> None:
    agent = build(settings=fakes.settings, clock=fixed_clock)  # type: ignore[operator]
    with anyio.fail_after(10):
        async with serve(agent) as server, httpx2.AsyncClient() as http:
            response = await http.post(
                f"{server.url}/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "Tell me a joke"}]},
            )
    assert response.json()["choices"][0]["message"]["content"] == help_text
