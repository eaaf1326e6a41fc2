"""The travel agents as MCP tools through ``plano-asgi serve`` (keyless and offline).

``serve`` runs examples/travel/plano_config.yaml (ports moved, agents in-process, no model
key, AeroAPI key unset) against Open-Meteo fakes on loopback. The flight agent, asked about
flights and the weather, asks the weather agent through the listener's tool itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.mcp_tools.stack import mcp_session, running, text_of, write_config
from tests.support.servers import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "travel" / "plano_config.yaml"


@pytest.fixture(scope="module")
def travel_mcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("travel_tools")
    data: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    agent_port, model_port, fake_port = free_port(), free_port(), free_port()
    for listener in data["listeners"]:
        listener["port"] = agent_port if listener["type"] == "agent" else model_port
    path = write_config(tmp / "plano_config.yaml", data)
    fake = f"http://127.0.0.1:{fake_port}"
    env = {
        "OPEN_METEO_GEOCODING_URL": f"{fake}/v1/search",
        "OPEN_METEO_FORECAST_URL": f"{fake}/v1/forecast",
        "AEROAPI_BASE_URL": fake,
        "AEROAPI_KEY": "",
        "OPENAI_API_KEY": "",
        "TRAVEL_USE_LLM": "0",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    fakes = ["uvicorn", "tests.mcp_tools.travel_fakes:app", "--port", str(fake_port)]
    fakes += ["--host", "127.0.0.1", "--log-level", "warning"]
    serve = ["plano_asgi", "serve", str(path), "--host", "127.0.0.1"]
    url = f"http://127.0.0.1:{agent_port}"
    try:
        with (
            running(fakes, tmp / "fakes.log", [f"{fake}/v1/search"]),
            running(serve, tmp / "serve.log", [f"{url}/healthz"]),
        ):
            yield f"{url}/mcp"
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def test_the_travel_agents_are_listed_as_tools(travel_mcp: str) -> None:
    async with mcp_session(travel_mcp) as session:
        listed = await session.list_tools()
    tools = {tool.name: tool.description or "" for tool in listed.tools}
    assert list(tools) == ["weather_agent", "flight_agent"]
    assert tools["weather_agent"].startswith("WeatherAgent is a specialized AI assistant")
    assert tools["flight_agent"].startswith("FlightAgent is an AI-powered tool")


async def test_the_weather_agent_answers_through_its_tool(travel_mcp: str) -> None:
    async with mcp_session(travel_mcp) as session:
        result = await session.call_tool("weather_agent", {"message": "Weather in Paris?"})
    assert not result.is_error, text_of(result)
    assert text_of(result).startswith("Weather in Paris")


async def test_the_flight_agent_asks_the_weather_agent_through_the_tool(travel_mcp: str) -> None:
    message = "Do any flights go direct from Seattle to Atlanta, and what's the weather there?"
    async with mcp_session(travel_mcp) as session:
        result = await session.call_tool("flight_agent", {"message": message})
    text = text_of(result)
    assert not result.is_error, text
    assert "Set AEROAPI_KEY" in text  # keyless: no flights, but the weather part is there
    assert "Weather right now (from the weather agent): Atlanta (ATL): 18.3 °C" in text, text


async def test_the_flight_agent_asks_nothing_when_weather_is_not_asked(travel_mcp: str) -> None:
    message = "Do any flights go direct from Seattle to Atlanta?"
    async with mcp_session(travel_mcp) as session:
        result = await session.call_tool("flight_agent", {"message": message})
    assert "from the weather agent" not in text_of(result)
