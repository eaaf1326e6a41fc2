"""WMO weather interpretation codes, as Open-Meteo reports them, in words."""

from __future__ import annotations

__all__ = ["WMO_CODES", "describe_weather_code"]

# WMO code table 4677, the subset Open-Meteo emits (see its API docs, "WMO Weather
# interpretation codes"). Every other code is still answered, just generically.
WMO_CODES: dict[int, str] = {
    0: "clear sky",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "depositing rime fog",
    51: "light drizzle",
    53: "moderate drizzle",
    55: "dense drizzle",
    56: "light freezing drizzle",
    57: "dense freezing drizzle",
    61: "slight rain",
    63: "moderate rain",
    65: "heavy rain",
    66: "light freezing rain",
    67: "heavy freezing rain",
    71: "slight snowfall",
    73: "moderate snowfall",
    75: "heavy snowfall",
    77: "snow grains",
    80: "slight rain showers",
    81: "moderate rain showers",
    82: "violent rain showers",
    85: "slight snow showers",
    86: "heavy snow showers",
    95: "thunderstorm",
    96: "thunderstorm with slight hail",
    99: "thunderstorm with heavy hail",
}


def describe_weather_code(code: int | None) -> str:
    """The condition for a WMO code in words ("unknown conditions" when there is none).

    You get an honest generic phrase for codes outside Open-Meteo's table instead of a guess.
    """
    if code is None:
        return "unknown conditions"
    return WMO_CODES.get(code, f"weather code {code}")
