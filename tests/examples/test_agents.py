"""The SDK agents over real uvicorn, called with the openai client, with and without a model.

The model is a fake OpenAI-compatible server on loopback that scripts the JSON extraction
(requests with ``response_format``) and the streamed final answer.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import openai
import pytest

from examples.travel.flight_agent import build_flight_agent
from examples.travel.lib.settings import TravelSettings
from examples.travel.weather_agent import build_weather_agent
from plano_agent_sdk.agent import Agent
from tests.examples.conftest import Fakes, fixed_clock
from tests.examples.fakes import Recorder, openai_app
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.anyio

WEATHER_ANSWER = "Paris is rainy today: 8.4 °C (47.1 °F), sunrise 08:10 and sunset 17:01."
FLIGHT_ANSWER = "Delta DL1542 leaves Seattle at 06:05 PST from gate A5."


@asynccontextmanager
async def running(agent: Agent) -> AsyncIterator[openai.AsyncOpenAI]:
    """Serve ``agent`` on loopback and yield an openai client for it."""
    async with serve(agent) as server:
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
        try:
            yield client
        finally:
            await client.close()
            await agent.aclose()


async def stream_text(client: openai.AsyncOpenAI, question: str, **extra: Any) -> list[str]:
    with anyio.fail_after(15):
        stream = await client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": question}],
            stream=True,
            **extra,
        )
        pieces: list[str] = []
        async for chunk in stream:
            for choice in chunk.choices:
                if choice.delta.content:
                    pieces.append(choice.delta.content)
        return pieces


def scripted(extraction: dict[str, Any], answer: str) -> Any:
    def script(body: dict[str, Any]) -> str:
        if body.get("response_format", {}).get("type") == "json_object":
            return json.dumps(extraction)
        return answer

    return script


def with_llm(settings: TravelSettings) -> TravelSettings:
    return dataclasses.replace(settings, use_llm=True, llm_timeout=10.0)


async def test_weather_agent_streams_a_data_answer_without_a_model(fakes: Fakes) -> None:
    agent = build_weather_agent(settings=fakes.settings, clock=fixed_clock)
    async with running(agent) as client:
        pieces = await stream_text(client, "What's the weather in Paris tomorrow?")

    answer = "".join(pieces)
    assert "°C" in answer
    assert "°F" in answer
    assert "Tomorrow (Tue Nov 24): overcast" in answer
    assert fakes.weather.last("/v1/forecast").params["forecast_days"] == "2"


async def test_weather_agent_non_streaming_answer(fakes: Fakes) -> None:
    agent = build_weather_agent(settings=fakes.settings, clock=fixed_clock)
    async with running(agent) as client:
        with anyio.fail_after(15):
            completion = await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "weather in Seattle"}]
            )

    content = completion.choices[0].message.content or ""
    assert content.startswith("Weather in Seattle, Washington, United States:")
    assert "moderate rain" in content


async def test_weather_agent_with_a_model_extracts_and_streams(fakes: Fakes) -> None:
    llm = Recorder()
    script = scripted({"location": "Paris", "days": 2}, WEATHER_ANSWER)
    async with serve(openai_app(llm, script)) as model:
        agent = build_weather_agent(
            settings=with_llm(fakes.settings), clock=fixed_clock, gateway_url=f"{model.url}/v1"
        )
        async with running(agent) as client:
            pieces = await stream_text(
                client,
                "is it going to rain where I'm going?",
                extra_headers={"x-request-id": "trip-42"},
            )

    assert "".join(pieces) == WEATHER_ANSWER
    assert len(pieces) > 1  # streamed through, not gathered
    extract, answer = llm.seen
    assert extract.body["model"] == "gpt-4o-mini"
    assert extract.body["response_format"] == {"type": "json_object"}
    assert "Today is 2026-11-23" in extract.body["messages"][0]["content"]
    assert answer.body["model"] == "gpt-4o"
    assert answer.body["stream"] is True
    facts = answer.body["messages"][0]["content"]
    assert "sunrise 08:10, sunset 17:01" in facts
    assert "Tomorrow (Tue Nov 24)" in facts
    assert answer.body["messages"][-1] == {
        "role": "user",
        "content": "is it going to rain where I'm going?",
    }
    assert extract.headers["x-request-id"] == answer.headers["x-request-id"] == "trip-42"
    assert fakes.weather.last("/v1/search").params["name"] == "Paris"
    assert fakes.weather.last("/v1/forecast").params["forecast_days"] == "2"


async def test_weather_agent_falls_back_when_the_gateway_is_down(fakes: Fakes) -> None:
    agent = build_weather_agent(
        settings=with_llm(fakes.settings),
        clock=fixed_clock,
        gateway_url=f"http://127.0.0.1:{free_port()}/v1",
    )
    async with running(agent) as client:
        answer = "".join(await stream_text(client, "What's the weather in Atlanta?"))

    assert answer.startswith("Weather in Atlanta, Georgia, United States:")
    assert "18.3 °C (64.9 °F), mainly clear" in answer


async def test_weather_agent_falls_back_when_the_model_errors(fakes: Fakes) -> None:
    llm = Recorder()
    async with serve(openai_app(llm, scripted({}, ""), status=401)) as model:
        agent = build_weather_agent(
            settings=with_llm(fakes.settings), clock=fixed_clock, gateway_url=f"{model.url}/v1"
        )
        async with running(agent) as client:
            answer = "".join(await stream_text(client, "What's the weather in Atlanta?"))

    assert len(llm.seen) == 1  # the failed extraction; no answer call after it
    assert answer.startswith("Weather in Atlanta, Georgia, United States:")


async def test_flight_agent_with_a_model_extracts_and_streams(fakes: Fakes) -> None:
    llm = Recorder()
    extraction = {"origin": "SEA", "destination": "Atlanta", "date": "2026-11-24"}
    async with serve(openai_app(llm, scripted(extraction, FLIGHT_ANSWER))) as model:
        agent = build_flight_agent(
            settings=with_llm(fakes.settings), clock=fixed_clock, gateway_url=f"{model.url}/v1"
        )
        async with running(agent) as client:
            pieces = await stream_text(client, "Can I get there from SEA on the 24th?")

    assert "".join(pieces) == FLIGHT_ANSWER
    call = fakes.flights.last("/flights/to/")
    assert call.path == "/airports/KSEA/flights/to/KATL"
    assert call.params["start"] == "2026-11-24T08:00:00Z"
    facts = llm.seen[-1].body["messages"][0]["content"]
    assert "DL1542 (Delta Air Lines flight 1542)" in facts
    assert "DL1110" not in facts


async def test_flight_agent_without_key_over_the_wire(fakes: Fakes) -> None:
    settings = dataclasses.replace(fakes.settings, aeroapi_key=None)
    agent = build_flight_agent(settings=settings, clock=fixed_clock)
    async with running(agent) as client:
        answer = "".join(await stream_text(client, "flights from Seattle to Atlanta tomorrow"))

    assert answer.startswith("Set AEROAPI_KEY to look up live flights")
    assert fakes.flights.seen == []


async def test_agents_read_settings_from_the_environment(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPEN_METEO_GEOCODING_URL", fakes.settings.geocoding_url)
    monkeypatch.setenv("OPEN_METEO_FORECAST_URL", fakes.settings.forecast_url)
    monkeypatch.setenv("TRAVEL_USE_LLM", "0")
    agent = build_weather_agent(clock=fixed_clock)
    async with running(agent) as client:
        answer = "".join(await stream_text(client, "weather in Seattle"))

    assert "Weather in Seattle" in answer
    assert fakes.weather.last("/v1/search").params["name"] == "Seattle"


async def test_a_failing_step_becomes_an_apology_not_a_traceback(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import examples.travel.weather as weather

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("bug")

    monkeypatch.setattr(weather, "render_weather", broken)
    agent = build_weather_agent(settings=fakes.settings, clock=fixed_clock)
    async with running(agent) as client:
        answer = "".join(await stream_text(client, "weather in Paris"))

    assert answer == "Sorry, something went wrong while I was looking up the weather."


async def test_answer_model_failure_falls_back_to_the_facts(fakes: Fakes) -> None:
    llm = Recorder()
    script = scripted({"location": "Atlanta", "days": 1}, WEATHER_ANSWER)
    async with serve(openai_app(llm, script, stream_status=500)) as model:
        agent = build_weather_agent(
            settings=with_llm(fakes.settings), clock=fixed_clock, gateway_url=f"{model.url}/v1"
        )
        async with running(agent) as client:
            answer = "".join(await stream_text(client, "weather please"))

    assert [seen.body.get("stream", False) for seen in llm.seen] == [False, True]
    assert answer.startswith("Weather in Atlanta, Georgia, United States:")
    assert WEATHER_ANSWER not in answer


async def test_answer_cut_off_midway_is_followed_by_the_facts(fakes: Fakes) -> None:
    llm = Recorder()
    script = scripted({"location": "Atlanta", "days": 1}, WEATHER_ANSWER)
    async with serve(openai_app(llm, script, cut_after=3)) as model:
        agent = build_weather_agent(
            settings=with_llm(fakes.settings), clock=fixed_clock, gateway_url=f"{model.url}/v1"
        )
        async with running(agent) as client:
            answer = "".join(await stream_text(client, "weather in Atlanta"))

    head, _, tail = answer.partition(
        "\n\n(The answer was cut off; here is the data it was based on.)\n"
    )
    assert head == "Paris is rainy"  # the three words the model managed to say
    assert tail.startswith("Weather in Atlanta, Georgia, United States:")


@pytest.mark.parametrize("reply", ["not json at all", "[1, 2]", '{"location": 7, "days": "x"}'])
async def test_unusable_extraction_falls_back_to_the_parser(fakes: Fakes, reply: str) -> None:
    llm = Recorder()

    def script(body: dict[str, Any]) -> str:
        return reply if body.get("response_format") else WEATHER_ANSWER

    async with serve(openai_app(llm, script)) as model:
        agent = build_weather_agent(
            settings=with_llm(fakes.settings), clock=fixed_clock, gateway_url=f"{model.url}/v1"
        )
        async with running(agent) as client:
            answer = "".join(await stream_text(client, "What's the weather in Seattle tomorrow?"))

    assert fakes.weather.last("/v1/search").params["name"] == "Seattle"
    assert fakes.weather.last("/v1/forecast").params["forecast_days"] == "2"
    if reply.startswith("{"):  # an object: the model is up, so it words the answer
        assert answer == WEATHER_ANSWER
    else:
        assert answer.startswith("Weather in Seattle")
