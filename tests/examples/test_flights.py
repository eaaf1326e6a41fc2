"""The flight agent's logic against a fake AeroAPI on loopback (no LLM)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx2
import openai
import pytest

from examples.travel.flights import answer_flights
from examples.travel.lib.conversation import Turn
from examples.travel.services import TravelServices
from tests.examples.conftest import AEROAPI_KEY, Fakes, fixed_clock
from tests.examples.fakes import Recorder, openai_app
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.anyio

SHOWN = ["DL1542", "AS752", "DL398", "DL2265", "DL566"]
NOT_SHOWN = ["AS1288", "DL1110"]


async def ask(services: TravelServices, *turns: Turn) -> str:
    with anyio.fail_after(10):
        return "".join([text async for text in answer_flights(services, turns)])


def user(text: str) -> Turn:
    return Turn("user", text)


async def test_flight_question_lists_five_flights_from_the_fixture(
    services: TravelServices, fakes: Fakes
) -> None:
    answer = await ask(services, user("What nonstop flights go from Seattle to Atlanta tomorrow?"))

    assert answer.startswith(
        "Nonstop flights from Seattle (SEA) to Atlanta (ATL) on Tuesday, November 24, 2026 "
        "(5 of 7 shown):"
    )
    positions = [answer.index(ident) for ident in SHOWN]
    assert positions == sorted(positions)  # in departure order
    for ident in NOT_SHOWN:
        assert ident not in answer
    assert "DL1542 (Delta Air Lines flight 1542): Scheduled" in answer
    assert "AS752 (Alaska Airlines flight 752)" in answer
    assert "Departs SEA 06:05 PST, gate A5" in answer  # 14:05Z in Seattle
    assert "Arrives ATL 16:47 EST (estimated; scheduled 16:50 EST), terminal S, gate B12" in answer
    assert "DL398 (Delta Air Lines flight 398): Scheduled / Delayed" in answer
    assert "09:20 PST (estimated; scheduled 08:55 PST)" in answer
    assert "Delayed about 25 min on departure" in answer
    assert "Aircraft: A339" in answer
    assert "gate not assigned yet" in answer  # DL566 has no gates yet


async def test_aeroapi_is_asked_for_the_local_day_nonstop_with_the_key(
    services: TravelServices, fakes: Fakes
) -> None:
    await ask(services, user("flights from SEA to ATL tomorrow"))

    call = fakes.flights.last("/flights/to/")
    assert call.path == "/airports/KSEA/flights/to/KATL"
    assert call.headers["x-apikey"] == AEROAPI_KEY
    assert call.params["connection"] == "nonstop"
    # Tuesday 24 November in Seattle (UTC-8), as UTC.
    assert call.params["start"] == "2026-11-24T08:00:00Z"
    assert call.params["end"] == "2026-11-25T08:00:00Z"


@pytest.mark.parametrize(
    ("question", "day"),
    [
        pytest.param("flights from Seattle to Atlanta today", "2026-11-23", id="today"),
        pytest.param("flights from Seattle to Atlanta", "2026-11-23", id="no-date-is-today"),
        pytest.param("flights from Seattle to Atlanta tomorrow", "2026-11-24", id="tomorrow"),
        pytest.param("flights from Seattle to Atlanta on Wednesday", "2026-11-25", id="weekday"),
        pytest.param("flights from Seattle to Atlanta on 2026-11-25", "2026-11-25", id="iso"),
        pytest.param("Seattle to Atlanta flights on Nov 24", "2026-11-24", id="month-day"),
    ],
)
async def test_dates_resolve_against_the_injected_today(
    services: TravelServices, fakes: Fakes, question: str, day: str
) -> None:
    await ask(services, user(question))

    assert fakes.flights.last("/flights/to/").params["start"].startswith(day)


async def test_dates_follow_the_clock_not_a_calendar(
    fakes: Fakes, http: httpx2.AsyncClient
) -> None:
    later = datetime(2027, 3, 3, 18, 0, tzinfo=UTC)  # a Wednesday
    services = TravelServices(http, fakes.settings, None, lambda: later)

    await ask(services, user("flights from Seattle to Atlanta on Friday"))

    assert fakes.flights.last("/flights/to/").params["start"] == "2027-03-05T08:00:00Z"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        pytest.param(
            "flights from Seattle to Atlanta on Thursday",
            "I can only look up flights up to 2 days ahead (through Wednesday, November 25, "
            "2026); FlightAware has no live flight list for Thursday, November 26, 2026 yet.",
            id="three-days-ahead",
        ),
        pytest.param(
            "flights from Seattle to Atlanta on 2026-12-24",
            "no live flight list for Thursday, December 24, 2026 yet",
            id="next-month",
        ),
        pytest.param(
            "flights from Seattle to Atlanta yesterday",
            "I can only look up flights from today (Monday, November 23, 2026) up to 2 days ahead",
            id="past",
        ),
    ],
)
async def test_dates_out_of_range_are_refused(
    services: TravelServices, fakes: Fakes, question: str, expected: str
) -> None:
    answer = await ask(services, user(question))

    assert expected in answer
    assert fakes.flights.seen == []


async def test_to_city_takes_the_origin_from_the_weather_part(
    services: TravelServices, fakes: Fakes
) -> None:
    answer = await ask(
        services, user("What's the weather in Seattle, and do any flights go direct to Atlanta?")
    )

    assert fakes.flights.last("/flights/to/").path == "/airports/KSEA/flights/to/KATL"
    assert "°" not in answer  # only the flight part
    assert "weather" not in answer.lower()
    assert "DL1542" in answer


async def test_follow_up_reuses_the_route_with_a_new_day(
    services: TravelServices, fakes: Fakes
) -> None:
    await ask(
        services,
        user("Any flights from Seattle to Atlanta today?"),
        Turn("assistant", "Nonstop flights from Seattle (SEA) to Atlanta (ATL) on Monday ..."),
        user("What about tomorrow?"),
    )

    call = fakes.flights.last("/flights/to/")
    assert call.path == "/airports/KSEA/flights/to/KATL"
    assert call.params["start"] == "2026-11-24T08:00:00Z"


async def test_fly_out_from_takes_the_destination_from_earlier(
    services: TravelServices, fakes: Fakes
) -> None:
    await ask(
        services,
        user("What's the weather in Atlanta?"),
        Turn("assistant", "Weather in Atlanta, Georgia, United States: ..."),
        user("Do they fly out from Seattle?"),
    )

    assert fakes.flights.last("/flights/to/").path == "/airports/KSEA/flights/to/KATL"


async def test_missing_key_is_said_plainly(fakes: Fakes, http: httpx2.AsyncClient) -> None:
    settings = dataclasses.replace(fakes.settings, aeroapi_key=None)
    answer = await ask(
        TravelServices(http, settings, None, fixed_clock), user("flights Seattle to Atlanta")
    )

    assert answer.startswith("Set AEROAPI_KEY to look up live flights")
    assert "from Seattle (SEA) to Atlanta (ATL) on Monday, November 23, 2026" in answer
    assert "DL" not in answer
    assert fakes.flights.seen == []


async def test_rejected_key_is_said_plainly(fakes: Fakes, http: httpx2.AsyncClient) -> None:
    settings = dataclasses.replace(fakes.settings, aeroapi_key="wrong")
    answer = await ask(
        TravelServices(http, settings, None, fixed_clock), user("flights Seattle to Atlanta")
    )

    assert answer.startswith("FlightAware AeroAPI rejected the AEROAPI_KEY (HTTP 401)")
    assert "wrong" not in answer


async def test_unreachable_aeroapi_is_said_plainly(fakes: Fakes, http: httpx2.AsyncClient) -> None:
    settings = dataclasses.replace(fakes.settings, aeroapi_url=f"http://127.0.0.1:{free_port()}")
    answer = await ask(
        TravelServices(http, settings, None, fixed_clock), user("flights Seattle to Atlanta")
    )

    assert answer.startswith("I can't reach FlightAware AeroAPI right now")
    assert "DL1542" not in answer


async def test_no_flights_is_said_plainly(services: TravelServices, fakes: Fakes) -> None:
    answer = await ask(services, user("flights from Paris to Atlanta tomorrow"))

    assert fakes.flights.last("/flights/to/").path == "/airports/LFPG/flights/to/KATL"
    assert answer == (
        "I found no nonstop flights from Paris (CDG) to Atlanta (ATL) on Tuesday, "
        "November 24, 2026 in FlightAware's schedule."
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        pytest.param("any flights tomorrow?", "Tell me which cities", id="no-route"),
        pytest.param("flights to Atlanta", "Tell me where you're flying from", id="no-origin"),
        pytest.param(
            "flights from Seattle to Atlantis",
            "I don't know an airport for 'Atlantis'",
            id="unknown",
        ),
        pytest.param(
            "flights from Seattle to SEA", "is both the origin and the destination", id="same"
        ),
    ],
)
async def test_incomplete_routes_ask_back(
    services: TravelServices, fakes: Fakes, question: str, expected: str
) -> None:
    answer = await ask(services, user(question))

    assert expected in answer
    assert fakes.flights.seen == []


@pytest.mark.parametrize(
    ("extraction", "path", "start"),
    [
        pytest.param(
            {"origin": "Seattle", "destination": "Atlanta", "date": "soon"},
            "/airports/KSEA/flights/to/KATL",
            "2026-11-24T08:00:00Z",
            id="bad-date-keeps-the-parsers-day",
        ),
        pytest.param(
            {"origin": "Gotham", "destination": None, "date": None},
            "/airports/KSEA/flights/to/KATL",
            "2026-11-24T08:00:00Z",
            id="unknown-city-keeps-the-parsers-route",
        ),
        pytest.param(
            {"origin": "SEA", "destination": "atlanta", "date": "2026-11-25"},
            "/airports/KSEA/flights/to/KATL",
            "2026-11-25T08:00:00Z",
            id="model-wins-when-usable",
        ),
    ],
)
async def test_model_extraction_is_merged_with_the_parser(
    fakes: Fakes, http: httpx2.AsyncClient, extraction: dict[str, object], path: str, start: str
) -> None:
    llm = Recorder()

    def script(body: dict[str, Any]) -> str:
        return json.dumps(extraction) if body.get("response_format") else "ok"

    async with serve(openai_app(llm, script)) as model:
        client = openai.AsyncOpenAI(base_url=f"{model.url}/v1", api_key="x", max_retries=0)
        settings = dataclasses.replace(fakes.settings, use_llm=True)
        answer = await ask(
            TravelServices(http, settings, client, fixed_clock),
            user("flights from Seattle to Atlanta tomorrow"),
        )
        await client.close()

    assert answer == "ok"
    call = fakes.flights.last("/flights/to/")
    assert (call.path, call.params["start"]) == (path, start)
    prompt = llm.seen[0].body["messages"][0]["content"]
    assert "Today is 2026-11-23 (Monday)" in prompt
    assert '"tomorrow" = 2026-11-24' in prompt
