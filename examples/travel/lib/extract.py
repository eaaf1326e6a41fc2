"""What a question asks for, without a model: the place and days for weather, the route and
date for flights. The LLM extraction in :mod:`examples.travel.lib.llm` fills the same values and
falls back to these when no model is reachable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from examples.travel.lib.airports import fold, resolve_airport
from examples.travel.lib.conversation import Turn, question_for
from examples.travel.lib.dates import forecast_days, resolve_date
from examples.travel.lib.places import FLIGHT_WORDS, WEATHER_WORDS, Mention, find_mentions

__all__ = [
    "FlightQuery",
    "WeatherQuery",
    "flight_query",
    "weather_query",
]

_WEATHER_PREPS = frozenset({"in", "at", "for", "near", "around", "of"})
_ORIGIN_PREPS = frozenset({"from", "leave", "leaves", "leaving", "departing", "between"})
_DEST_PREPS = frozenset({"to", "into", "reach"})
_BACK_REFERENCE = re.compile(
    r"\b(there|that city|that place|the destination|over there|same place)\b", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class WeatherQuery:
    """A weather question: where, and how many forecast days (today is day one)."""

    location: str | None
    days: int = 1
    qualifier: str = ""
    """Country or region written after the place ("France" in "Paris, France")."""


@dataclass(frozen=True, slots=True)
class FlightQuery:
    """A flight question: origin and destination as written (city or code), and the day."""

    origin: str | None
    destination: str | None
    day: date


def weather_query(turns: tuple[Turn, ...], today: date) -> WeatherQuery:
    """The weather part of the latest question, with "there" resolved from the conversation.

    "There" (or no place at all) means the destination of the latest flight question, or
    else the last place mentioned: in the rest of this message, then in earlier turns.
    """
    question = question_for(turns, WEATHER_WORDS)
    days = forecast_days(question.focus, today)
    if resolve_date(question.focus, today) is None:
        # "Flights to Paris tomorrow, and the weather there?": the day is in the other part.
        days = max(days, forecast_days(" ".join((question.focus, *question.others)), today))
    mentions = find_mentions(question.focus)
    ranked = (
        [m for m in mentions if m.prep in _WEATHER_PREPS]
        or [m for m in mentions if m.trusted]
        or mentions
    )
    if ranked and not _BACK_REFERENCE.search(question.focus):
        return WeatherQuery(_place_name(ranked[0]), days, ranked[0].qualifier)
    found = _context_place(question.context, prefer_destination=True)
    if found is None:
        return WeatherQuery(None, days)
    return WeatherQuery(_place_name(found), days, found.qualifier)


def _place_name(mention: Mention) -> str:
    # A code or a short alias ("SEA", "nyc") geocodes badly; the table's city does not.
    if mention.airport is not None and len(mention.text) <= 4:
        return mention.airport.city
    return mention.text


def flight_query(turns: tuple[Turn, ...], today: date) -> FlightQuery:
    """The flight part of the latest question, with a missing end taken from context.

    "to Y" takes its origin from the last place mentioned before (this message first, then
    earlier turns); "from X" takes its destination likewise; "what about tomorrow?" reuses
    the latest route. The day defaults to today.
    """
    question = question_for(turns, FLIGHT_WORDS)
    day = resolve_date(question.focus, today) or today
    origin, destination = _route(question.focus)
    if destination is None and _BACK_REFERENCE.search(question.focus):
        found = _context_place(question.context, prefer_destination=True)
        destination = found.text if found else None
    for text in question.context:
        if origin is not None and destination is not None:
            break
        past_origin, past_destination = _route(text)
        places = [m.text for m in reversed(_trusted(text))]
        if origin is None and destination is None:
            if past_origin and past_destination:
                origin, destination = past_origin, past_destination
            continue
        if origin is None:
            origin = _first_other([past_origin, *places], destination)
        else:
            destination = _first_other([past_destination, *places], origin)
    return FlightQuery(origin, destination, day)


def _trusted(text: str) -> list[Mention]:
    return [m for m in find_mentions(text) if m.trusted]


def _same(a: str, b: str | None) -> bool:
    if b is None:
        return False
    left, right = resolve_airport(a), resolve_airport(b)
    if left is not None and right is not None:
        return left.iata == right.iata
    return " ".join(fold(a).split()) == " ".join(fold(b).split())


def _first_other(candidates: list[str | None], other: str | None) -> str | None:
    for candidate in candidates:
        if candidate and not _same(candidate, other):
            return candidate
    return None


def _route(text: str) -> tuple[str | None, str | None]:
    mentions = _trusted(text)
    origin = next((m for m in mentions if _is_origin(text, m)), None)
    destination = next((m for m in mentions if m.prep in _DEST_PREPS and m is not origin), None)
    if origin is not None and destination is None:
        # "between Paris and London", "leave Boston for Denver"
        follower = "and" if origin.prep == "between" else "for"
        destination = next(
            (m for m in mentions if m.start > origin.end and m.prep == follower), None
        )
    if destination is not None and origin is None:
        before = [
            m
            for m in mentions
            if m.end <= destination.start and m.prep not in _DEST_PREPS | _WEATHER_PREPS
        ]
        origin = before[-1] if before else None
    return (origin.text if origin else None, destination.text if destination else None)


def _is_origin(text: str, mention: Mention) -> bool:
    if mention.prep in _ORIGIN_PREPS:
        return True
    return mention.prep == "of" and text[: mention.start].lower().rstrip().endswith("out of")


def _context_place(texts: tuple[str, ...], *, prefer_destination: bool) -> Mention | None:
    for text in texts:
        mentions = _trusted(text)
        if prefer_destination:
            destinations = [m for m in mentions if m.prep in _DEST_PREPS]
            if destinations:
                return destinations[-1]
        if mentions:
            return mentions[-1]
    return None
