"""Where the travel agents find their services and keys, read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["TravelSettings"]

GEOCODING_URL = "https://geocoding-api.open-meteo.com/v1/search"
FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
AEROAPI_URL = "https://aeroapi.flightaware.com/aeroapi"
_OFF = ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class TravelSettings:
    """Endpoints, keys and models. Build it with :meth:`from_env`, or directly in tests."""

    geocoding_url: str = GEOCODING_URL
    forecast_url: str = FORECAST_URL
    aeroapi_url: str = AEROAPI_URL
    aeroapi_key: str | None = None
    extract_model: str = "gpt-4o-mini"
    """The small model that turns a question into JSON."""
    answer_model: str = "gpt-4o"
    """The larger model that words the answer from the fetched data."""
    timeout: float = 8.0
    """Seconds for each call to Open-Meteo or AeroAPI (connect is capped at 3)."""
    llm_timeout: float = 30.0
    """Seconds for each model call; extraction gives up sooner (a third of this)."""
    use_llm: bool = True
    """Ask the models at all; ``TRAVEL_USE_LLM=0`` answers from data alone."""

    def __repr__(self) -> str:  # never show the key
        shown = "set" if self.aeroapi_key else "unset"
        return f"TravelSettings(aeroapi_url={self.aeroapi_url!r}, aeroapi_key={shown})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TravelSettings:
        """Read ``OPEN_METEO_GEOCODING_URL``, ``OPEN_METEO_FORECAST_URL``,
        ``AEROAPI_BASE_URL``, ``AEROAPI_KEY``, ``TRAVEL_EXTRACT_MODEL``,
        ``TRAVEL_ANSWER_MODEL``, ``TRAVEL_HTTP_TIMEOUT`` and ``TRAVEL_USE_LLM``; unset ones
        keep the defaults.
        """
        env = os.environ if environ is None else environ
        timeout = env.get("TRAVEL_HTTP_TIMEOUT", "")
        return cls(
            geocoding_url=env.get("OPEN_METEO_GEOCODING_URL") or GEOCODING_URL,
            forecast_url=env.get("OPEN_METEO_FORECAST_URL") or FORECAST_URL,
            aeroapi_url=(env.get("AEROAPI_BASE_URL") or AEROAPI_URL).rstrip("/"),
            aeroapi_key=env.get("AEROAPI_KEY") or None,
            extract_model=env.get("TRAVEL_EXTRACT_MODEL") or "gpt-4o-mini",
            answer_model=env.get("TRAVEL_ANSWER_MODEL") or "gpt-4o",
            timeout=float(timeout) if timeout else 8.0,
            use_llm=env.get("TRAVEL_USE_LLM", "1").strip().lower()
            not in ("0", "false", "no", "off"),
        )
