"""The whole travel assistant as ``plano-asgi serve`` runs it: the agent listener and the model
gateway built from examples/travel/plano_config.yaml, both agents in-process calling the model
through the gateway, the provider a fake OpenAI server on loopback, and Open-Meteo / AeroAPI
answered by recorded responses. Driven with the official openai client.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import openai
import pytest
import yaml

from examples.travel.flight_agent import build_flight_agent
from examples.travel.weather_agent import build_weather_agent
from plano_asgi.config import PlanoConfig
from plano_asgi.gateway.app import ModelGateway
from plano_asgi.middleware import PlanoMiddleware
from plano_asgi.routing.base import Router
from plano_asgi.routing.factory import load_local_router
from tests.examples.conftest import Fakes, fixed_clock
from tests.examples.fakes import Recorder, Script, openai_app
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "travel" / "plano_config.yaml"
PROVIDER_KEY = "sk-provider-secret-123"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@functools.cache
def offline_router() -> Router | None:
    return load_local_router()


def travel_config(provider_url: str) -> PlanoConfig:
    """The example's config with its OpenAI providers pointed at the fake provider."""
    data = yaml.safe_load(CONFIG.read_text())
    for provider in data["model_providers"]:
        provider["base_url"] = provider_url
    return PlanoConfig.from_dict(data, env={"OPENAI_API_KEY": PROVIDER_KEY})


@dataclass
class Stack:
    api: openai.AsyncOpenAI
    provider: Recorder


@asynccontextmanager
async def stack(fakes: Fakes, script: Script) -> AsyncIterator[Stack]:
    provider = Recorder()
    async with serve(openai_app(provider, script)) as fake_provider:
        config = travel_config(f"{fake_provider.url}/v1")
        async with ModelGateway(None, config=config) as gateway, serve(gateway) as gw:
            settings = dataclasses.replace(fakes.settings, use_llm=True, llm_timeout=10.0)
            gateway_url = f"{gw.url}/v1"
            weather = build_weather_agent(
                settings=settings, clock=fixed_clock, gateway_url=gateway_url
            )
            flights = build_flight_agent(
                settings=settings, clock=fixed_clock, gateway_url=gateway_url
            )
            listener = PlanoMiddleware(
                config=config,
                router=offline_router(),
                agents={"weather_agent": weather, "flight_agent": flights},
            )
            async with listener, serve(listener) as srv:
                api = openai.AsyncOpenAI(base_url=f"{srv.url}/v1", api_key="client", max_retries=0)
                try:
                    yield Stack(api, provider)
                finally:
                    await api.close()
                    await weather.aclose()
                    await flights.aclose()


def scripted(extractions: list[dict[str, Any]], answers: list[str]) -> Script:
    """Extraction requests (``response_format``) and answers get the next scripted reply."""
    pending_extractions = list(extractions)
    pending_answers = list(answers)

    def script(body: dict[str, Any]) -> str:
        if body.get("response_format", {}).get("type") == "json_object":
            return json.dumps(pending_extractions.pop(0))
        return pending_answers.pop(0)

    return script


async def turn(api: openai.AsyncOpenAI, messages: list[Any], request_id: str) -> tuple[str, str]:
    with anyio.fail_after(30):
        raw = await api.chat.completions.with_raw_response.create(
            model="gpt-4o",
            messages=messages,
            stream=True,
            extra_headers={"x-request-id": request_id, "traceparent": TRACEPARENT},
        )
        stream = raw.parse()
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    return raw.headers["x-plano-agents"], text


async def test_weather_then_flight_then_weather_there_through_the_gateway(fakes: Fakes) -> None:
    script = scripted(
        [
            {"location": "Paris", "days": 1},
            {"origin": "Seattle", "destination": "Atlanta", "date": "2026-11-24"},
            {"location": "Atlanta", "days": 1},
        ],
        [
            "Paris: 8.4 °C (47.1 °F), light rain.",
            "DL1542 leaves SEA at 06:05 from gate A5.",
            "Atlanta: 18.3 °C (64.9 °F), clear.",
        ],
    )
    async with stack(fakes, script) as s:
        history: list[Any] = [{"role": "user", "content": "What's the weather in Paris?"}]
        agents1, text1 = await turn(s.api, history, "req-1")
        history += [
            {"role": "assistant", "content": text1},
            {"role": "user", "content": "What flights go from Seattle to Atlanta tomorrow?"},
        ]
        agents2, text2 = await turn(s.api, history, "req-2")
        history += [
            {"role": "assistant", "content": text2},
            {"role": "user", "content": "And what's the weather there?"},
        ]
        agents3, text3 = await turn(s.api, history, "req-3")

    assert (agents1, text1) == ("weather_agent", "Paris: 8.4 °C (47.1 °F), light rain.")
    assert (agents2, text2) == ("flight_agent", "DL1542 leaves SEA at 06:05 from gate A5.")
    assert (agents3, text3) == ("weather_agent", "Atlanta: 18.3 °C (64.9 °F), clear.")
    # Every model call went through the gateway: prefix stripped, key added, request id kept.
    calls = s.provider.seen
    assert [c.body["model"] for c in calls] == ["gpt-4o-mini", "gpt-4o"] * 3
    assert {c.headers["authorization"] for c in calls} == {f"Bearer {PROVIDER_KEY}"}
    assert [c.headers["x-request-id"] for c in calls] == [
        "req-1", "req-1", "req-2", "req-2", "req-3", "req-3",
    ]  # fmt: skip
    # The client's trace is continued on every hop, tracing SDK or not.
    assert {c.headers["traceparent"].split("-")[1] for c in calls} == {TRACE_ID}
    # The answers were grounded in the recorded services' data.
    assert fakes.weather.last("/v1/search").params["name"] == "Atlanta"
    assert fakes.flights.paths()[-1] == "/airports/KSEA/flights/to/KATL"
    facts = calls[-1].body["messages"][0]["content"]
    assert "Atlanta" in facts


async def test_two_part_question_runs_both_agents_in_order_through_the_gateway(
    fakes: Fakes,
) -> None:
    script = scripted(
        [
            {"location": "Seattle", "days": 1},
            {"origin": "Seattle", "destination": "Atlanta", "date": "2026-11-23"},
        ],
        ["Seattle: 8 °C (46 °F), showers.", "Two nonstop flights SEA to ATL today."],
    )
    question = "What's the weather in Seattle, and do any flights go direct to Atlanta?"
    async with stack(fakes, script) as s:
        agents, text = await turn(s.api, [{"role": "user", "content": question}], "req-9")
    assert agents == "weather_agent,flight_agent"
    # Both parts answered, in order (listener ``answers: all``, the default).
    assert text == "Seattle: 8 °C (46 °F), showers.\n\nTwo nonstop flights SEA to ATL today."
    # The flight agent's answer call saw the weather agent's reply, named, before the question.
    last = s.provider.seen[-1].body["messages"]
    assert last[-2:] == [
        {
            "role": "assistant",
            "content": "Seattle: 8 °C (46 °F), showers.",
            "name": "weather_agent",
        },
        {"role": "user", "content": question},
    ]
    assert "DL1542 (Delta Air Lines flight 1542)" in last[0]["content"]
