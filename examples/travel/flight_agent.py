"""The flight agent, served by ``plano_agent_sdk``.

Run it alone with ``uvicorn examples.travel.flight_agent:agent --port 10520`` or in-process
from ``plano_config.yaml`` (``app: examples.travel.flight_agent:agent``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from examples.travel.agents import run_answer
from examples.travel.flights import answer_flights
from examples.travel.lib.dates import Clock
from examples.travel.lib.settings import TravelSettings
from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.request import AgentRequest

__all__ = ["agent", "build_flight_agent"]

DESCRIPTION = (
    "Live nonstop flights between two airports for today and the next two days (FlightAware "
    "AeroAPI): times, status, delays, gates, terminals, aircraft. Resolves cities to airport "
    "codes. Answers only the flight part of a question."
)


def build_flight_agent(
    *,
    settings: TravelSettings | None = None,
    clock: Clock | None = None,
    gateway_url: str | None = None,
) -> Agent:
    """A flight agent; tests pass settings pointing at fakes and a fixed clock."""
    flights = Agent("flight_agent", description=DESCRIPTION, gateway_url=gateway_url)

    @flights.handler
    async def handle(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
        async for text in run_answer(
            answer_flights,
            request,
            ctx,
            settings=settings,
            clock=clock,
            apology="Sorry, something went wrong while I was looking up flights.",
        ):
            yield text

    return flights


agent = build_flight_agent()
"""The ASGI app: configured from the environment on each request."""
