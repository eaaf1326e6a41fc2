"""The weather agent, served by ``plano_agent_sdk``.

Run it alone with ``uvicorn examples.travel.weather_agent:agent --port 10510`` or in-process
from ``plano_config.yaml`` (``app: examples.travel.weather_agent:agent``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from examples.travel.agents import run_answer
from examples.travel.lib.dates import Clock
from examples.travel.lib.settings import TravelSettings
from examples.travel.weather import answer_weather
from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.request import AgentRequest

__all__ = ["agent", "build_weather_agent"]

DESCRIPTION = (
    "Current weather and forecasts up to 16 days for any city (Open-Meteo): temperature in "
    "°C and °F, conditions, sunrise and sunset. Answers only the weather part of a question."
)


def build_weather_agent(
    *,
    settings: TravelSettings | None = None,
    clock: Clock | None = None,
    gateway_url: str | None = None,
) -> Agent:
    """A weather agent; tests pass settings pointing at fakes and a fixed clock."""
    weather = Agent("weather_agent", description=DESCRIPTION, gateway_url=gateway_url)

    @weather.handler
    async def handle(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
        async for text in run_answer(
            answer_weather,
            request,
            ctx,
            settings=settings,
            clock=clock,
            apology="Sorry, something went wrong while I was looking up the weather.",
        ):
            yield text

    return weather


agent = build_weather_agent()
"""The ASGI app: configured from the environment on each request."""
