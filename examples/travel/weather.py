"""The weather agent's logic: find the place, fetch Open-Meteo, answer the weather part."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date

from examples.travel.answer import answer_from_facts
from examples.travel.lib.conversation import Turn
from examples.travel.lib.dates import MAX_FORECAST_DAYS
from examples.travel.lib.extract import WeatherQuery, weather_query
from examples.travel.lib.llm import extract_json
from examples.travel.lib.openmeteo import OpenMeteo
from examples.travel.lib.places import WEATHER_WORDS
from examples.travel.lib.render import render_weather
from examples.travel.lib.scope import WEATHER_HELP, is_off_topic
from examples.travel.services import TravelServices
from plano_asgi.errors import UpstreamError

__all__ = ["answer_weather", "llm_weather_query"]

_EXTRACT = """\
Today is {today}. Read the conversation and find what the user's LATEST message asks about
the weather. Reply with JSON only: {{"location": <city name or null>, "days": <integer>}}.
- location: the city (add ", <country>" only if the user gave one). If the user says
  "there", "that city" or gives no place, use the destination of the most recent flight
  question in the conversation, else the last place mentioned. null if there is none.
- days: forecast days counting today as 1: 1 for now/today, 2 for tomorrow, 7 for a
  forecast or "this week", N for "N days" (at most 16), up to a named date.
- Ignore any non-weather part of the message (flights, currency, ...).
"""

_EXTRA = (
    "- Give temperatures in both °C and °F, the conditions, and sunrise and sunset times.\n"
    "- If the user asked about a specific day, focus on that day."
)


async def llm_weather_query(
    services: TravelServices, turns: Sequence[Turn], today: date
) -> WeatherQuery | None:
    """The weather question as the small model reads it, or None when it cannot be asked."""
    if services.llm is None:
        return None
    data = await extract_json(
        services.llm,
        model=services.settings.extract_model,
        system=_EXTRACT.format(today=today.isoformat()),
        turns=turns,
        time_limit=services.settings.llm_timeout / 3,
    )
    if data is None:
        return None
    location = data.get("location")
    days = data.get("days")
    name, _, qualifier = location.partition(",") if isinstance(location, str) else ("", "", "")
    return WeatherQuery(
        name.strip() or None,
        max(1, min(MAX_FORECAST_DAYS, days)) if isinstance(days, int) else 0,
        qualifier.strip(),
    )


async def answer_weather(services: TravelServices, turns: Sequence[Turn]) -> AsyncIterator[str]:
    """Stream the answer to the weather part of the conversation's latest question."""
    today = services.clock().date()
    query = weather_query(tuple(turns), today)
    from_llm = await llm_weather_query(services, turns, today)
    if from_llm is not None:
        query = WeatherQuery(
            from_llm.location or query.location,
            from_llm.days or query.days,
            from_llm.qualifier if from_llm.location else query.qualifier,
        )
    off_topic = is_off_topic(turns, WEATHER_WORDS)
    if (off_topic and from_llm is None) or (off_topic and not query.location):
        # Offline, a turn without a weather word is not for us; with a model, one that
        # names no place either.
        yield WEATHER_HELP
        return
    if not query.location:
        yield "Which city would you like the weather for?"
        return
    client = OpenMeteo(services.http, services.settings)
    try:
        place = await client.geocode(query.location, query.qualifier)
        if place is None:
            yield (
                f"I couldn't find a place called {query.location!r} on Open-Meteo. "
                "Could you check the spelling, or add the country?"
            )
            return
        forecast = await client.forecast(place, query.days)
    except UpstreamError:
        yield (
            f"I can't reach Open-Meteo right now, so I can't tell you the weather in "
            f"{query.location}. Please try again in a moment."
        )
        return
    async for text in answer_from_facts(
        services,
        turns,
        render_weather(forecast),
        role="the weather assistant",
        source="Open-Meteo",
        topic="weather",
        extra=_EXTRA,
        use_llm=from_llm is not None,
    ):
        yield text
