"""FlightAware AeroAPI v4: the nonstop flights of one day between two airports.

Needs ``AEROAPI_KEY`` (sent as ``x-apikey``); ``AEROAPI_BASE_URL`` points it elsewhere for
tests. AeroAPI only looks two days ahead, so this module refuses later days itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2

from examples.travel.lib.airports import Airport
from examples.travel.lib.fetch import get_json
from examples.travel.lib.settings import TravelSettings

__all__ = ["MAX_DAYS_AHEAD", "AeroAPI", "Flight", "day_window", "parse_flights", "pick_flights"]

SERVICE = "FlightAware AeroAPI"
MAX_DAYS_AHEAD = 2
"""AeroAPI's airport flight lists reach at most two days into the future."""


@dataclass(frozen=True, slots=True)
class Flight:
    """One nonstop flight segment. Times are ISO 8601 UTC strings as AeroAPI sends them."""

    ident: str
    operator: str | None
    flight_number: str | None
    ident_iata: str | None
    status: str
    scheduled_out: str | None
    estimated_out: str | None
    actual_out: str | None
    scheduled_in: str | None
    estimated_in: str | None
    actual_in: str | None
    gate_origin: str | None
    gate_destination: str | None
    terminal_origin: str | None
    terminal_destination: str | None
    aircraft_type: str | None
    departure_delay: int | None
    arrival_delay: int | None
    cancelled: bool
    origin_tz: str | None
    destination_tz: str | None


def day_window(airport: Airport, day: date, now: datetime) -> tuple[datetime, datetime]:
    """The local calendar ``day`` at ``airport`` as a UTC window AeroAPI accepts.

    The end is kept inside AeroAPI's two-days-ahead horizon.
    """
    zone = ZoneInfo(airport.tz or "UTC")
    start = datetime.combine(day, time.min, zone).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(ZoneInfo("UTC"))
    horizon = (
        now.astimezone(ZoneInfo("UTC")) + timedelta(days=MAX_DAYS_AHEAD) - timedelta(minutes=5)
    )
    return start, min(end, horizon)


class AeroAPI:
    """A small AeroAPI client over an ``httpx2.AsyncClient`` you own and close."""

    def __init__(self, client: httpx2.AsyncClient, settings: TravelSettings) -> None:
        self._client = client
        self._settings = settings

    async def nonstop_flights(
        self, origin: Airport, destination: Airport, day: date, now: datetime
    ) -> list[Flight]:
        """Nonstop flights from ``origin`` to ``destination`` departing on ``day`` (origin's time).

        Raises ``UpstreamError`` when AeroAPI is unreachable or refuses; the caller checks the
        key and the date first.
        """
        start, end = day_window(origin, day, now)
        url = (
            f"{self._settings.aeroapi_url}/airports/{_code(origin)}/flights/to/{_code(destination)}"
        )
        body = await get_json(
            self._client,
            url,
            service=SERVICE,
            params={
                "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "connection": "nonstop",
                "max_pages": 1,
            },
            headers={"x-apikey": self._settings.aeroapi_key or "", "accept": "application/json"},
            time_limit=self._settings.timeout,
        )
        return parse_flights(body)


def _code(airport: Airport) -> str:
    # AeroAPI prefers ICAO codes: IATA codes can be ambiguous for it.
    return airport.icao or airport.iata


def parse_flights(body: Any) -> list[Flight]:
    """Flights from an AeroAPI ``{"flights": [{"segments": [...]}]}`` body; junk is skipped."""
    flights: list[Flight] = []
    items = body.get("flights") if isinstance(body, dict) else None
    for item in items if isinstance(items, list) else []:
        segments = item.get("segments") if isinstance(item, dict) else None
        for segment in segments if isinstance(segments, list) else []:
            if isinstance(segment, dict) and (flight := _flight(segment)) is not None:
                flights.append(flight)
    return flights


def pick_flights(flights: list[Flight], now: datetime, limit: int = 5) -> list[Flight]:
    """Up to ``limit`` flights by departure time, the ones still to leave first."""
    ordered = sorted(flights, key=lambda f: f.scheduled_out or "")
    stamp = now.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    upcoming = [f for f in ordered if (f.estimated_out or f.scheduled_out or "") >= stamp]
    rest = [f for f in ordered if f not in upcoming]
    return (upcoming + rest)[:limit] if upcoming else ordered[:limit]


def _opt(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _tz(airport: Any) -> str | None:
    return _opt(airport.get("timezone")) if isinstance(airport, dict) else None


def _flight(segment: dict[str, Any]) -> Flight | None:
    ident = _opt(segment.get("ident")) or _opt(segment.get("ident_iata"))
    if ident is None:
        return None
    return Flight(
        ident=ident,
        operator=_opt(segment.get("operator")) or _opt(segment.get("operator_icao")),
        flight_number=_opt(segment.get("flight_number")),
        ident_iata=_opt(segment.get("ident_iata")),
        status=_opt(segment.get("status")) or "Unknown",
        scheduled_out=_opt(segment.get("scheduled_out")),
        estimated_out=_opt(segment.get("estimated_out")),
        actual_out=_opt(segment.get("actual_out")),
        scheduled_in=_opt(segment.get("scheduled_in")),
        estimated_in=_opt(segment.get("estimated_in")),
        actual_in=_opt(segment.get("actual_in")),
        gate_origin=_opt(segment.get("gate_origin")),
        gate_destination=_opt(segment.get("gate_destination")),
        terminal_origin=_opt(segment.get("terminal_origin")),
        terminal_destination=_opt(segment.get("terminal_destination")),
        aircraft_type=_opt(segment.get("aircraft_type")),
        departure_delay=_int(segment.get("departure_delay")),
        arrival_delay=_int(segment.get("arrival_delay")),
        cancelled=segment.get("cancelled") is True,
        origin_tz=_tz(segment.get("origin")),
        destination_tz=_tz(segment.get("destination")),
    )
