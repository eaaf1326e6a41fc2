"""The weather agent's logic against a fake Open-Meteo on loopback (no LLM)."""

from __future__ import annotations

import dataclasses

import anyio
import httpx2
import pytest

from examples.travel.lib.conversation import Turn
from examples.travel.services import TravelServices
from examples.travel.weather import answer_weather
from tests.examples.conftest import Fakes, fixed_clock
from tests.examples.fakes import Recorder, open_meteo_app
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.anyio


async def ask(services: TravelServices, *turns: Turn) -> str:
    with anyio.fail_after(10):
        return "".join([text async for text in answer_weather(services, turns)])


def user(text: str) -> Turn:
    return Turn("user", text)


async def test_weather_answer_has_both_units_conditions_and_sun_times(
    services: TravelServices, fakes: Fakes
) -> None:
    answer = await ask(services, user("What's the weather in Paris?"))

    assert "Weather in Paris, Île-de-France, France" in answer
    assert "8.4 °C (47.1 °F)" in answer  # current temperature from the fixture
    assert "slight rain" in answer  # WMO 61, current and today
    assert "sunrise 08:10, sunset 17:01" in answer
    assert "high 10.2 °C (50.4 °F), low 5.3 °C (41.5 °F)" in answer
    geocode = fakes.weather.last("/v1/search")
    assert geocode.params["name"] == "Paris"
    assert geocode.params["count"] == "1"
    forecast = fakes.weather.last("/v1/forecast")
    assert forecast.params["forecast_days"] == "1"
    assert forecast.params["timezone"] == "auto"
    assert "temperature_2m" in forecast.params["current"]
    assert "weather_code" in forecast.params["current"]
    for field in ("weather_code", "temperature_2m_max", "temperature_2m_min", "sunrise", "sunset"):
        assert field in forecast.params["daily"].split(",")


@pytest.mark.parametrize(
    ("question", "days"),
    [
        pytest.param("What's the weather in Atlanta tomorrow?", "2", id="tomorrow"),
        pytest.param("Give me the forecast for Atlanta", "7", id="forecast"),
        pytest.param("How's the weather in Atlanta this week?", "7", id="week"),
        pytest.param("Weather in Atlanta for the next 3 days", "3", id="three-days"),
        pytest.param("Atlanta weather for 30 days please", "16", id="capped-at-16"),
        pytest.param("Will it rain in Atlanta on Thursday?", "4", id="weekday"),
    ],
)
async def test_forecast_days_follow_the_question(
    services: TravelServices, fakes: Fakes, question: str, days: str
) -> None:
    answer = await ask(services, user(question))

    assert fakes.weather.last("/v1/forecast").params["forecast_days"] == days
    assert answer.count("sunrise") == min(int(days), 7)  # the fixture holds 7 days


async def test_tomorrow_is_labelled_with_the_fixture_day(services: TravelServices) -> None:
    answer = await ask(services, user("weather in atlanta tomorrow"))

    assert "Tomorrow (Tue Nov 24): partly cloudy" in answer
    assert "sunrise 07:22, sunset 17:30" in answer


async def test_there_after_a_flight_question_is_the_destination(
    services: TravelServices, fakes: Fakes
) -> None:
    answer = await ask(
        services,
        user("Are there nonstop flights from Seattle to Atlanta tomorrow?"),
        Turn(
            "assistant",
            "Nonstop flights from Seattle (SEA) to Atlanta (ATL) on Tuesday, November 24, 2026",
        ),
        user("What's the weather there?"),
    )

    assert fakes.weather.last("/v1/search").params["name"] == "Atlanta"
    assert "Weather in Atlanta, Georgia, United States" in answer


async def test_second_in_a_chain_reads_the_first_agents_answer(
    services: TravelServices, fakes: Fakes
) -> None:
    # Plano's layout: the flight agent's answer, named, just before the latest user turn.
    question = "Find flights from Seattle to Paris tomorrow, and what's the weather there?"
    await ask(
        services,
        Turn("assistant", "Nonstop flights from Seattle (SEA) to Paris (CDG) ...", "flight_agent"),
        user(question),
    )

    assert fakes.weather.last("/v1/search").params["name"] == "Paris"
    assert fakes.weather.last("/v1/forecast").params["forecast_days"] == "2"


async def test_two_part_question_answers_only_the_weather(
    services: TravelServices, fakes: Fakes
) -> None:
    answer = await ask(
        services, user("What's the weather in Seattle, and do any flights go direct to Atlanta?")
    )

    assert fakes.weather.last("/v1/search").params["name"] == "Seattle"
    assert "Weather in Seattle" in answer
    assert "moderate rain" in answer
    assert "flight" not in answer.lower()
    assert "Atlanta" not in answer


async def test_country_qualifier_is_used_to_pick_the_place(
    services: TravelServices, fakes: Fakes
) -> None:
    answer = await ask(services, user("How is the weather in Paris, France?"))

    geocode = fakes.weather.last("/v1/search")
    assert (geocode.params["name"], geocode.params["count"]) == ("Paris", "10")
    assert "Paris, Île-de-France, France" in answer


async def test_unknown_place_is_said_plainly(services: TravelServices, fakes: Fakes) -> None:
    answer = await ask(services, user("What's the weather in Atlantis?"))

    assert answer.startswith("I couldn't find a place called 'Atlantis'")
    assert "/v1/forecast" not in fakes.weather.paths()


async def test_no_place_at_all_asks_back(services: TravelServices, fakes: Fakes) -> None:
    answer = await ask(services, user("How's the weather?"))

    assert answer == "Which city would you like the weather for?"
    assert fakes.weather.seen == []


async def test_open_meteo_down_is_reported_plainly(fakes: Fakes, http: httpx2.AsyncClient) -> None:
    recorder = Recorder()
    async with serve(open_meteo_app(recorder, status=503)) as down:
        settings = dataclasses.replace(
            fakes.settings,
            geocoding_url=f"{down.url}/v1/search",
            forecast_url=f"{down.url}/v1/forecast",
        )
        answer = await ask(
            TravelServices(http, settings, None, fixed_clock), user("weather in Paris")
        )

    assert answer.startswith("I can't reach Open-Meteo right now")
    assert "°" not in answer
    assert recorder.paths() == ["/v1/search"]


async def test_open_meteo_unreachable_is_reported_plainly(
    fakes: Fakes, http: httpx2.AsyncClient
) -> None:
    port = free_port()  # nothing listens there
    settings = dataclasses.replace(
        fakes.settings,
        geocoding_url=f"http://127.0.0.1:{port}/v1/search",
        forecast_url=f"http://127.0.0.1:{port}/v1/forecast",
    )
    answer = await ask(TravelServices(http, settings, None, fixed_clock), user("weather in Paris"))

    assert answer == (
        "I can't reach Open-Meteo right now, so I can't tell you the weather in Paris. "
        "Please try again in a moment."
    )
