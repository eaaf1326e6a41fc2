"""The travel assistant end to end: the listener from plano_config.yaml, its offline router,
both SDK agents in-process, fake Open-Meteo and AeroAPI, and the openai client streaming.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import openai
import pytest

from examples.travel.flight_agent import build_flight_agent
from examples.travel.weather_agent import build_weather_agent
from plano_asgi.config import load_config
from plano_asgi.middleware import PlanoMiddleware
from plano_asgi.routing.base import Router
from plano_asgi.routing.factory import load_local_router
from tests.examples.conftest import Fakes, fixed_clock
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "travel" / "plano_config.yaml"


@functools.cache
def offline_router() -> Router | None:
    """The config's ``local_v1`` router, built once: its model loads on first use (~5 s)."""
    return load_local_router()


@asynccontextmanager
async def assistant(fakes: Fakes) -> AsyncIterator[openai.AsyncOpenAI]:
    """The travel listener on loopback, agents in-process, and an openai client for it."""
    config = load_config(CONFIG, env={"OPENAI_API_KEY": "sk-unused"})
    weather = build_weather_agent(settings=fakes.settings, clock=fixed_clock)
    flights = build_flight_agent(settings=fakes.settings, clock=fixed_clock)
    listener = PlanoMiddleware(
        config=config,
        router=offline_router(),
        agents={"weather_agent": weather, "flight_agent": flights},
    )
    async with listener, serve(listener) as server:
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
        try:
            yield client
        finally:
            await client.close()
            await weather.aclose()
            await flights.aclose()


async def chat(client: openai.AsyncOpenAI, messages: list[Any]) -> str:
    with anyio.fail_after(30):  # the first call loads the embedded router model
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=messages, stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


async def test_two_part_question_answers_both_parts_in_order(fakes: Fakes) -> None:
    async with assistant(fakes) as client:
        question = "What's the weather in Seattle, and do any flights go direct to Atlanta?"
        answer = await chat(client, [{"role": "user", "content": question}])

    # The weather agent ran first (its Seattle lookup), then the flight agent.
    assert fakes.weather.last("/v1/search").params["name"] == "Seattle"
    assert fakes.flights.last("/flights/to/").path == "/airports/KSEA/flights/to/KATL"
    weather, flights = answer.split("\n\nNonstop flights ", 1)
    assert weather.startswith("Weather in Seattle, Washington, United States:")
    assert flights.startswith("from Seattle (SEA) to Atlanta (ATL)")
    assert "DL1542" in flights
    # The flight agent used the weather agent's answer: the conditions at departure.
    note = flights.rsplit("\n", 1)[-1]
    assert note.startswith("Weather right now (from the weather agent): Seattle (SEA): 9.1 °C")
    assert "can delay departures" in note  # it is raining in Seattle


async def test_keyless_flight_agent_still_uses_the_weather_agents_answer(fakes: Fakes) -> None:
    keyless = dataclasses.replace(fakes.settings, aeroapi_key=None)
    async with assistant(Fakes(fakes.weather, fakes.flights, keyless)) as client:
        question = "How's the weather in Seattle, and are there flights to Atlanta?"
        answer = await chat(client, [{"role": "user", "content": question}])
    weather, flights = answer.split("\n\nSet AEROAPI_KEY", 1)
    assert weather.startswith("Weather in Seattle")
    assert "I won't guess." in flights
    assert flights.endswith("check the status before you go.")
    assert "Seattle (SEA): 9.1 °C" in flights


async def test_follow_up_weather_there_goes_to_the_flight_destination(fakes: Fakes) -> None:
    async with assistant(fakes) as client:
        first = [{"role": "user", "content": "What flights go from Seattle to Atlanta tomorrow?"}]
        flights = await chat(client, first)
        follow_up = [
            *first,
            {"role": "assistant", "content": flights},
            {"role": "user", "content": "What's the weather there?"},
        ]
        weather = await chat(client, follow_up)

    assert "DL1542" in flights
    assert weather.startswith("Weather in Atlanta, Georgia, United States:")
    assert "°F" in weather
