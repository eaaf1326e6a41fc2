"""The deterministic parser: places, parts of a question, and references to earlier turns."""

from __future__ import annotations

from datetime import date

import pytest

from examples.travel.lib.conversation import Turn, question_for, turns_from_messages
from examples.travel.lib.extract import flight_query, weather_query
from examples.travel.lib.places import WEATHER_WORDS, find_mentions, split_clauses

TODAY = date(2026, 11, 23)


def user(text: str) -> Turn:
    return Turn("user", text)


def said(text: str, name: str | None = None) -> Turn:
    return Turn("assistant", text, name)


@pytest.mark.parametrize(
    ("text", "places"),
    [
        pytest.param("What's the weather in Paris?", ["Paris"], id="capitalised"),
        pytest.param("weather in bozeman tomorrow", ["bozeman"], id="lower-after-in"),
        pytest.param("Bozeman weather?", ["Bozeman"], id="unknown-capitalised"),
        pytest.param("Have a nice day", [], id="not-nice-france"),
        pytest.param("weather in nice", ["nice"], id="nice-after-in"),
        pytest.param("from atl to sea", ["atl", "sea"], id="lower-codes"),
        pytest.param("SEA to ATL", ["SEA", "ATL"], id="codes"),
        pytest.param("I want to go to St. Louis", ["St. Louis"], id="abbreviation"),
        pytest.param("weather in Rio de Janeiro", ["Rio de Janeiro"], id="connector"),
        pytest.param("Paris, France this week", ["Paris"], id="qualifier-not-a-place"),
        pytest.param(
            "I can't reach Open-Meteo right now, so I can't tell you the weather in Paris.",
            ["Paris"],
            id="service-name-in-own-apology",
        ),
        pytest.param("Set AEROAPI_KEY to look up FlightAware flights", [], id="identifiers"),
    ],
)
def test_find_mentions(text, places):
    assert [m.text for m in find_mentions(text)] == places


def test_qualifier_is_kept():
    (paris,) = find_mentions("How is the weather in Paris, France?")
    assert paris.qualifier == "France"
    assert paris.prep == "in"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        pytest.param(
            "What's the weather in Seattle, and do any flights go direct to New York?",
            ["What's the weather in Seattle", "do any flights go direct to New York"],
            id="and-do",
        ),
        pytest.param(
            "Flights to Paris tomorrow. Also, what's the weather there?",
            ["Flights to Paris tomorrow", "Also, what's the weather there"],
            id="sentences",
        ),
        pytest.param(
            "weather in Seattle and Portland", ["weather in Seattle and Portland"], id="list"
        ),
    ],
)
def test_split_clauses(text, parts):
    assert split_clauses(text) == parts


def test_question_for_splits_focus_others_and_earlier():
    turns = (user("hi"), said("Hello!"), user("Weather in Paris and flights to Rome?"))
    question = question_for(turns, WEATHER_WORDS)
    assert question.focus == "Weather in Paris"
    assert question.others == ("flights to Rome",)
    assert question.earlier == ("Hello!", "hi")


def test_turns_from_messages_accepts_dicts_and_parts_and_drops_system():
    turns = turns_from_messages(
        [
            {"role": "system", "content": "be nice"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "weather"}, {"type": "image_url"}],
            },
            {"role": "assistant", "content": "sunny", "name": "weather_agent"},
        ]
    )
    assert turns == (Turn("user", "weather"), Turn("assistant", "sunny", "weather_agent"))


@pytest.mark.parametrize(
    ("turns", "location", "days"),
    [
        pytest.param((user("weather in Paris tomorrow"),), "Paris", 2, id="simple"),
        pytest.param((user("SEA weather this week"),), "Seattle", 7, id="code-to-city"),
        pytest.param(
            (
                user("flights from Seattle to Atlanta"),
                said("Nonstop flights from Seattle (SEA) to Atlanta (ATL)"),
                user("weather there?"),
            ),
            "Atlanta",
            1,
            id="there-is-destination",
        ),
        pytest.param(
            (user("Any flights from Boston to Denver today?"), user("What about the weather?")),
            "Denver",
            1,
            id="no-place-uses-context",
        ),
        pytest.param(
            (user("Flights to Paris tomorrow, and the weather there?"),),
            "Paris",
            2,
            id="same-message",
        ),
        pytest.param((user("how's the weather?"),), None, 1, id="nothing"),
    ],
)
def test_weather_query(turns, location, days):
    query = weather_query(turns, TODAY)
    assert (query.location, query.days) == (location, days)


@pytest.mark.parametrize(
    ("turns", "origin", "destination", "day"),
    [
        pytest.param(
            (user("flights from Seattle to Atlanta tomorrow"),),
            "Seattle",
            "Atlanta",
            24,
            id="from-to",
        ),
        pytest.param((user("to Atlanta from Seattle"),), "Seattle", "Atlanta", 23, id="to-from"),
        pytest.param((user("SEA to ATL on Wednesday"),), "SEA", "ATL", 25, id="codes"),
        pytest.param(
            (user("flights between Paris and London"),), "Paris", "London", 23, id="between"
        ),
        pytest.param(
            (user("flights out of Denver to Boston"),), "Denver", "Boston", 23, id="out-of"
        ),
        pytest.param(
            (user("What flights leave Boston for Denver today?"),),
            "Boston",
            "Denver",
            23,
            id="leave-for",
        ),
        pytest.param(
            (
                user("weather in Istanbul"),
                said("Weather in Istanbul, Türkiye ..."),
                user("Do they fly out from Seattle?"),
            ),
            "Seattle",
            "Istanbul",
            23,
            id="destination-from-context",
        ),
        pytest.param(
            (user("flights from Seattle to Atlanta"), user("and to Paris?")),
            "Seattle",
            "Paris",
            23,
            id="origin-from-previous-route",
        ),
        pytest.param((user("flights to Atlanta"),), None, "Atlanta", 23, id="no-origin"),
    ],
)
def test_flight_query(turns, origin, destination, day):
    query = flight_query(turns, TODAY)
    assert (query.origin, query.destination, query.day) == (
        origin,
        destination,
        date(2026, 11, day),
    )
