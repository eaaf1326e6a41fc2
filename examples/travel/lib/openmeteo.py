"""Open-Meteo: geocoding a place name, then its current weather and daily forecast.

Free and keyless. Base URLs come from :class:`~examples.travel.lib.settings.TravelSettings`
(``OPEN_METEO_GEOCODING_URL``, ``OPEN_METEO_FORECAST_URL``) so tests can serve them locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2

from examples.travel.lib.airports import fold
from examples.travel.lib.fetch import get_json
from examples.travel.lib.settings import TravelSettings

__all__ = ["CurrentWeather", "DailyWeather", "Forecast", "OpenMeteo", "Place"]

SERVICE = "Open-Meteo"
_CURRENT = "temperature_2m,apparent_temperature,relative_humidity_2m,wind_speed_10m,weather_code"
_DAILY = (
    "weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max,"
    "sunrise,sunset"
)


@dataclass(frozen=True, slots=True)
class Place:
    """A geocoded place."""

    name: str
    latitude: float
    longitude: float
    country: str = ""
    admin1: str = ""
    timezone: str = ""
    country_code: str = ""

    @property
    def label(self) -> str:
        """ "Paris, Île-de-France, France" (parts that are missing or repeated left out)."""
        parts: list[str] = []
        for part in (self.name, self.admin1, self.country):
            if part and part not in parts:
                parts.append(part)
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class CurrentWeather:
    """Conditions now, in °C and km/h as Open-Meteo reports them."""

    time: str
    temperature: float | None
    weather_code: int | None
    apparent_temperature: float | None = None
    humidity: float | None = None
    wind_speed: float | None = None


@dataclass(frozen=True, slots=True)
class DailyWeather:
    """One forecast day (local date and times)."""

    date: str
    weather_code: int | None
    temperature_max: float | None
    temperature_min: float | None
    sunrise: str | None
    sunset: str | None
    precipitation_probability: float | None = None


@dataclass(frozen=True, slots=True)
class Forecast:
    """What Open-Meteo said about a place."""

    place: Place
    timezone: str
    current: CurrentWeather | None
    days: tuple[DailyWeather, ...]


class OpenMeteo:
    """A small Open-Meteo client over an ``httpx2.AsyncClient`` you own and close."""

    def __init__(self, client: httpx2.AsyncClient, settings: TravelSettings) -> None:
        self._client = client
        self._settings = settings

    async def geocode(self, name: str, qualifier: str = "") -> Place | None:
        """The best match for ``name`` (None when Open-Meteo knows no such place).

        With a ``qualifier`` ("France", "Maine") you get the first match in that country or
        region, so "Portland, Maine" is not Portland, Oregon.
        """
        body = await get_json(
            self._client,
            self._settings.geocoding_url,
            service=SERVICE,
            params={"name": name, "count": 10 if qualifier else 1, "language": "en"},
            time_limit=self._settings.timeout,
        )
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            return None
        places = [place for item in results if (place := _place(item)) is not None]
        if qualifier:
            wanted = " ".join(fold(qualifier).split())
            for place in places:
                names = (place.country, place.admin1, place.country_code)
                if any(" ".join(fold(n).split()).startswith(wanted) for n in names if n):
                    return place
        return places[0] if places else None

    async def forecast(self, place: Place, days: int) -> Forecast:
        """Current weather and ``days`` daily forecasts (1..16) for ``place``."""
        body = await get_json(
            self._client,
            self._settings.forecast_url,
            service=SERVICE,
            params={
                "latitude": place.latitude,
                "longitude": place.longitude,
                "current": _CURRENT,
                "daily": _DAILY,
                "timezone": "auto",
                "forecast_days": max(1, min(16, days)),
            },
            time_limit=self._settings.timeout,
        )
        if not isinstance(body, dict):
            body = {}
        return Forecast(
            place=place,
            timezone=_str(body.get("timezone")) or place.timezone,
            current=_current(body.get("current")),
            days=_daily(body.get("daily")),
        )


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _code(value: Any) -> int | None:
    number = _num(value)
    return None if number is None else int(number)


def _place(item: Any) -> Place | None:
    if not isinstance(item, dict):
        return None
    latitude, longitude = _num(item.get("latitude")), _num(item.get("longitude"))
    name = _str(item.get("name"))
    if latitude is None or longitude is None or not name:
        return None
    return Place(
        name=name,
        latitude=latitude,
        longitude=longitude,
        country=_str(item.get("country")),
        admin1=_str(item.get("admin1")),
        timezone=_str(item.get("timezone")),
        country_code=_str(item.get("country_code")),
    )


def _current(data: Any) -> CurrentWeather | None:
    if not isinstance(data, dict):
        return None
    return CurrentWeather(
        time=_str(data.get("time")),
        temperature=_num(data.get("temperature_2m")),
        weather_code=_code(data.get("weather_code")),
        apparent_temperature=_num(data.get("apparent_temperature")),
        humidity=_num(data.get("relative_humidity_2m")),
        wind_speed=_num(data.get("wind_speed_10m")),
    )


def _daily(data: Any) -> tuple[DailyWeather, ...]:
    if not isinstance(data, dict) or not isinstance(data.get("time"), list):
        return ()

    def column(key: str, index: int) -> Any:
        values = data.get(key)
        return values[index] if isinstance(values, list) and index < len(values) else None

    return tuple(
        DailyWeather(
            date=_str(day),
            weather_code=_code(column("weather_code", i)),
            temperature_max=_num(column("temperature_2m_max", i)),
            temperature_min=_num(column("temperature_2m_min", i)),
            sunrise=_str(column("sunrise", i)) or None,
            sunset=_str(column("sunset", i)) or None,
            precipitation_probability=_num(column("precipitation_probability_max", i)),
        )
        for i, day in enumerate(data["time"])
    )
