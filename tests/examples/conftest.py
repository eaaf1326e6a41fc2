"""Fixtures for the travel example: fake services on loopback and settings pointing at them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx2
import pytest
from starlette.applications import Starlette

from examples.travel.lib.settings import TravelSettings
from examples.travel.services import TravelServices
from tests.examples.fakes import Recorder, aeroapi_app, open_meteo_app
from tests.support.servers import serve

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
"""Monday 23 November 2026, 07:00 in Seattle: the tests' "now"."""
AEROAPI_KEY = "test-aeroapi-key"


def fixed_clock() -> datetime:
    return NOW


@dataclass
class Fakes:
    """The running fakes, what they recorded, and settings that point at them."""

    weather: Recorder
    flights: Recorder
    settings: TravelSettings


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module-scoped, so one fake server can serve a whole test module."""
    return "asyncio"


@pytest.fixture(scope="module")
async def fake_server() -> AsyncIterator[tuple[Recorder, Recorder, str]]:
    weather, flights = Recorder(), Recorder()
    # One server for both fakes (their paths differ), started once per module.
    both = Starlette(routes=[*open_meteo_app(weather).routes, *aeroapi_app(flights).routes])
    async with serve(both) as server:
        yield weather, flights, server.url


@pytest.fixture
def fakes(fake_server: tuple[Recorder, Recorder, str]) -> Fakes:
    """The fakes with empty recordings, and settings pointing at them (no LLM)."""
    weather, flights, url = fake_server
    weather.seen.clear()
    flights.seen.clear()
    settings = TravelSettings(
        geocoding_url=f"{url}/v1/search",
        forecast_url=f"{url}/v1/forecast",
        aeroapi_url=url,
        aeroapi_key=AEROAPI_KEY,
        timeout=5.0,
        use_llm=False,
    )
    return Fakes(weather, flights, settings)


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient() as client:
        yield client


@pytest.fixture
def services(fakes: Fakes, http: httpx2.AsyncClient) -> TravelServices:
    """Keyless-LLM services (answers rendered from data) against the fakes, at ``NOW``."""
    return TravelServices(http, fakes.settings, None, fixed_clock)
