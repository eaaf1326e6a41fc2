"""Answers worded from data alone: what the agents say when no LLM is available, and the
facts they hand the LLM when one is. Nothing here invents a number.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from examples.travel.lib.aeroapi import MAX_DAYS_AHEAD, Flight
from examples.travel.lib.airlines import airline_name
from examples.travel.lib.airports import Airport
from examples.travel.lib.openmeteo import DailyWeather, Forecast
from examples.travel.lib.wmo import describe_weather_code

__all__ = [
    "fahrenheit",
    "long_date",
    "render_flights",
    "render_weather",
    "temperature",
    "too_far_ahead",
]


def fahrenheit(celsius: float) -> float:
    """°C to °F."""
    return celsius * 9 / 5 + 32


def temperature(celsius: float | None) -> str:
    """ "7.9 °C (46.2 °F)", or "n/a" when Open-Meteo gave no value."""
    if celsius is None:
        return "n/a"
    return f"{celsius:.1f} °C ({fahrenheit(celsius):.1f} °F)"


def long_date(day: date) -> str:
    """ "Tuesday, November 24, 2026"."""
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"


def _clock(stamp: str | None) -> str:
    # Open-Meteo sends local "2026-11-23T07:58" (timezone=auto): keep the HH:MM part.
    return stamp.split("T", 1)[1][:5] if stamp and "T" in stamp else "n/a"


def _day_label(day: DailyWeather, first: str) -> str:
    try:
        value = date.fromisoformat(day.date)
    except ValueError:
        return day.date or "Unknown day"
    offset = (value - date.fromisoformat(first)).days if first else -1
    name = {0: "Today", 1: "Tomorrow"}.get(offset, f"{value:%A}")
    return f"{name} ({value:%a} {value:%b} {value.day})"


def render_weather(forecast: Forecast) -> str:
    """The weather in plain text: now, then each forecast day, in °C and °F."""
    lines = [f"Weather in {forecast.place.label}:"]
    now = forecast.current
    if now is not None and now.temperature is not None:
        extras = []
        if now.apparent_temperature is not None:
            extras.append(f"feels like {temperature(now.apparent_temperature)}")
        if now.humidity is not None:
            extras.append(f"humidity {now.humidity:.0f}%")
        if now.wind_speed is not None:
            extras.append(f"wind {now.wind_speed:.0f} km/h")
        tail = f" ({', '.join(extras)})" if extras else ""
        condition = describe_weather_code(now.weather_code)
        lines.append(f"- Right now: {temperature(now.temperature)}, {condition}{tail}.")
    first = forecast.days[0].date if forecast.days else ""
    for day in forecast.days:
        rain = ""
        if day.precipitation_probability is not None:
            rain = f", {day.precipitation_probability:.0f}% chance of precipitation"
        lines.append(
            f"- {_day_label(day, first)}: {describe_weather_code(day.weather_code)}, "
            f"high {temperature(day.temperature_max)}, low {temperature(day.temperature_min)}"
            f"{rain}; sunrise {_clock(day.sunrise)}, sunset {_clock(day.sunset)}."
        )
    if len(lines) == 1:
        lines.append("- Open-Meteo returned no readings for this place.")
    tz = f" Times are local ({forecast.timezone})." if forecast.timezone else ""
    lines.append(f"Source: Open-Meteo.{tz}")
    return "\n".join(lines)


def _local(stamp: str | None, tz: str | None) -> str | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        return moment.astimezone(ZoneInfo(tz or "UTC")).strftime("%H:%M %Z")
    except (ValueError, KeyError):
        return stamp


def _times(scheduled: str | None, estimated: str | None, actual: str | None, tz: str | None) -> str:
    planned = _local(scheduled, tz)
    if actual:
        return f"{_local(actual, tz)} (actual; scheduled {planned or 'n/a'})"
    if estimated and estimated != scheduled:
        return f"{_local(estimated, tz)} (estimated; scheduled {planned or 'n/a'})"
    return planned or "time not published"


def _where(terminal: str | None, gate: str | None) -> str:
    parts = [f"terminal {terminal}" if terminal else "", f"gate {gate}" if gate else ""]
    shown = ", ".join(part for part in parts if part)
    return f", {shown}" if shown else ", gate not assigned yet"


def _flight_lines(index: int, flight: Flight, origin: Airport, destination: Airport) -> list[str]:
    airline = airline_name(flight.operator)
    number = flight.ident_iata or flight.ident
    title = f"{airline} flight {flight.flight_number}" if airline and flight.flight_number else ""
    head = f"{index}. {number}" + (f" ({title})" if title else "")
    status = "Cancelled" if flight.cancelled else flight.status
    out_tz = flight.origin_tz or origin.tz
    in_tz = flight.destination_tz or destination.tz
    lines = [
        f"{head}: {status}",
        f"   Departs {origin.iata} "
        f"{_times(flight.scheduled_out, flight.estimated_out, flight.actual_out, out_tz)}"
        f"{_where(flight.terminal_origin, flight.gate_origin)}",
        f"   Arrives {destination.iata} "
        f"{_times(flight.scheduled_in, flight.estimated_in, flight.actual_in, in_tz)}"
        f"{_where(flight.terminal_destination, flight.gate_destination)}",
    ]
    if flight.departure_delay and flight.departure_delay > 0:
        lines.append(f"   Delayed about {round(flight.departure_delay / 60)} min on departure")
    if flight.aircraft_type:
        lines.append(f"   Aircraft: {flight.aircraft_type}")
    return lines


def render_flights(
    flights: list[Flight], total: int, origin: Airport, destination: Airport, day: date
) -> str:
    """Up to five flights in plain text, with times local to each airport."""
    route = f"from {origin.label} to {destination.label} on {long_date(day)}"
    if not flights:
        return f"I found no nonstop flights {route} in FlightAware's schedule."
    shown = f"{len(flights)} of {total}" if total > len(flights) else str(len(flights))
    lines = [f"Nonstop flights {route} ({shown} shown):"]
    for index, flight in enumerate(flights, start=1):
        lines.extend(_flight_lines(index, flight, origin, destination))
    lines.append("Source: FlightAware AeroAPI.")
    return "\n".join(lines)


def too_far_ahead(day: date, today: date) -> str:
    """Why a date past AeroAPI's horizon (or in the past) gets no flight list."""
    last = today + timedelta(days=MAX_DAYS_AHEAD)
    if day < today:
        return (
            f"I can only look up flights from today ({long_date(today)}) up to "
            f"{MAX_DAYS_AHEAD} days ahead, not for {long_date(day)}."
        )
    return (
        f"I can only look up flights up to {MAX_DAYS_AHEAD} days ahead (through "
        f"{long_date(last)}); FlightAware has no live flight list for {long_date(day)} yet. "
        "Ask me again closer to the date."
    )
