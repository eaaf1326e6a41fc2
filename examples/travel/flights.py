"""The flight agent's logic: find the route and day, ask AeroAPI, answer the flight part."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from examples.travel.answer import answer_from_facts
from examples.travel.lib.aeroapi import MAX_DAYS_AHEAD, AeroAPI, pick_flights
from examples.travel.lib.airports import Airport, resolve_airport
from examples.travel.lib.conversation import Turn
from examples.travel.lib.extract import FlightQuery, flight_query
from examples.travel.lib.handoff import weather_note
from examples.travel.lib.llm import extract_json
from examples.travel.lib.places import FLIGHT_WORDS
from examples.travel.lib.render import long_date, render_flights, too_far_ahead
from examples.travel.lib.scope import FLIGHT_HELP, is_off_topic
from examples.travel.services import TravelServices
from examples.travel.weather_tool import weather_from_tool
from plano_asgi.errors import UpstreamError

__all__ = ["answer_flights", "llm_flight_query"]

_EXTRACT = """\
Today is {today} ({weekday}). Read the conversation and find what the user's LATEST message
asks about flights. Reply with JSON only:
{{"origin": <city or IATA code or null>, "destination": <city or IATA code or null>,
  "date": <"YYYY-MM-DD" or null>}}
- Resolve references from the conversation: "there"/"that city" is the place talked about
  last; a missing origin or destination is the other place mentioned earlier (for example
  the city whose weather was asked about).
- date: the departure day resolved against today ("tomorrow" = {tomorrow}); null if none.
- Ignore any non-flight part of the message (weather, currency, ...).
"""

_EXTRA = (
    "- List each flight with airline, flight number, departure and arrival times, status,\n"
    "  gates, terminals and aircraft type exactly as in the FACTS.\n"
    "- If the FACTS end with the weather right now, mention it in one sentence."
)
_KEY_MISSING = (
    "Set AEROAPI_KEY to look up live flights (a FlightAware AeroAPI key: "
    "https://www.flightaware.com/aeroapi/portal). I understood you want nonstop flights "
    "{route}, but without a key I can't see any flight data, and I won't guess."
)


async def llm_flight_query(
    services: TravelServices, turns: Sequence[Turn], today: date, default_day: date
) -> FlightQuery | None:
    """The flight question as the small model reads it, or None when it cannot be asked.

    Without a date from the model you get ``default_day`` (the parser's reading).
    """
    if services.llm is None:
        return None
    data = await extract_json(
        services.llm,
        model=services.settings.extract_model,
        system=_EXTRACT.format(
            today=today.isoformat(),
            weekday=f"{today:%A}",
            tomorrow=(today + timedelta(days=1)).isoformat(),
        ),
        turns=turns,
        time_limit=services.settings.llm_timeout / 3,
    )
    if data is None:
        return None
    origin, destination, day = data.get("origin"), data.get("destination"), data.get("date")
    try:
        parsed = date.fromisoformat(day) if isinstance(day, str) else default_day
    except ValueError:
        parsed = default_day
    return FlightQuery(
        origin if isinstance(origin, str) and origin.strip() else None,
        destination if isinstance(destination, str) and destination.strip() else None,
        parsed,
    )


def _merge(rule: FlightQuery, model: FlightQuery | None) -> FlightQuery:
    if model is None:
        return rule

    def pick(first: str | None, second: str | None) -> str | None:
        return first if first and resolve_airport(first) else second or first

    return FlightQuery(
        pick(model.origin, rule.origin), pick(model.destination, rule.destination), model.day
    )


async def answer_flights(services: TravelServices, turns: Sequence[Turn]) -> AsyncIterator[str]:
    """Stream the answer to the flight part of the conversation's latest question."""
    now = services.clock()
    today = now.date()
    query = flight_query(tuple(turns), today)
    origin = resolve_airport(query.origin) if query.origin else None
    if origin is not None and origin.tz:
        # "Tomorrow" means tomorrow where the flight leaves.
        today = now.astimezone(ZoneInfo(origin.tz)).date()
        if today != now.date():
            query = flight_query(tuple(turns), today)
    from_llm = await llm_flight_query(services, turns, today, query.day)
    query = _merge(query, from_llm)
    if not query.origin and not query.destination and is_off_topic(turns, FLIGHT_WORDS):
        yield FLIGHT_HELP  # no route and no flight word anywhere: not a flight question
        return
    if not query.origin or not query.destination:
        missing = "where you're flying from" if query.destination else "which cities"
        yield (
            f"Which route should I check? Tell me {missing}, for example: "
            '"nonstop flights from Seattle to Atlanta tomorrow".'
        )
        return
    origin, destination = resolve_airport(query.origin), resolve_airport(query.destination)
    if origin is None or destination is None:
        unknown = query.origin if origin is None else query.destination
        yield (
            f"I don't know an airport for {unknown!r}. Try a major city or its IATA code "
            "(like SEA or ATL)."
        )
        return
    async for text in _flights(services, turns, origin, destination, query.day, from_llm):
        yield text


async def _flights(
    services: TravelServices,
    turns: Sequence[Turn],
    origin: Airport,
    destination: Airport,
    day: date,
    from_llm: FlightQuery | None,
) -> AsyncIterator[str]:
    now = services.clock()
    today = now.astimezone(ZoneInfo(origin.tz or "UTC")).date()
    if origin.iata == destination.iata:
        yield f"{origin.label} is both the origin and the destination; which other city?"
        return
    if not 0 <= (day - today).days <= MAX_DAYS_AHEAD:
        yield too_far_ahead(day, today)
        return
    route = f"from {origin.label} to {destination.label} on {long_date(day)}"
    # The weather agent's answer in this turn, else (when asked for) its tool's answer.
    note = weather_note(turns, (origin, destination)) or await weather_from_tool(turns, destination)
    if not services.settings.aeroapi_key:
        yield _KEY_MISSING.format(route=route) + (f"\n{note}" if note else "")
        return
    try:
        flights = await AeroAPI(services.http, services.settings).nonstop_flights(
            origin, destination, day, now
        )
    except UpstreamError as exc:
        if exc.upstream_status in (401, 403):
            yield (
                f"FlightAware AeroAPI rejected the AEROAPI_KEY (HTTP {exc.upstream_status}). "
                f"Check the key; I couldn't look up flights {route}."
            )
        else:
            yield (
                f"I can't reach FlightAware AeroAPI right now, so I can't look up flights "
                f"{route}. Please try again in a moment."
            )
        return
    facts = render_flights(pick_flights(flights, now), len(flights), origin, destination, day)
    if note:
        facts += f"\n{note}"
    async for text in answer_from_facts(
        services,
        turns,
        facts,
        role="the flight assistant",
        source="FlightAware AeroAPI",
        topic="flight",
        extra=_EXTRA,
        use_llm=from_llm is not None,
    ):
        yield text
