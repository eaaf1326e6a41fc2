"""Settings come from the environment, and never show the key."""

from __future__ import annotations

from examples.travel.lib.settings import AEROAPI_URL, FORECAST_URL, GEOCODING_URL, TravelSettings


def test_defaults_are_the_public_services() -> None:
    settings = TravelSettings.from_env({})
    assert (settings.geocoding_url, settings.forecast_url) == (GEOCODING_URL, FORECAST_URL)
    assert settings.aeroapi_url == AEROAPI_URL
    assert settings.aeroapi_key is None
    assert (settings.extract_model, settings.answer_model) == ("gpt-4o-mini", "gpt-4o")
    assert settings.use_llm is True


def test_environment_overrides_everything() -> None:
    settings = TravelSettings.from_env(
        {
            "OPEN_METEO_GEOCODING_URL": "http://127.0.0.1:1/search",
            "OPEN_METEO_FORECAST_URL": "http://127.0.0.1:1/forecast",
            "AEROAPI_BASE_URL": "http://127.0.0.1:2/aeroapi/",
            "AEROAPI_KEY": "k-123",
            "TRAVEL_EXTRACT_MODEL": "small",
            "TRAVEL_ANSWER_MODEL": "large",
            "TRAVEL_HTTP_TIMEOUT": "2.5",
            "TRAVEL_USE_LLM": "off",
        }
    )
    assert settings.geocoding_url == "http://127.0.0.1:1/search"
    assert settings.forecast_url == "http://127.0.0.1:1/forecast"
    assert settings.aeroapi_url == "http://127.0.0.1:2/aeroapi"
    assert settings.aeroapi_key == "k-123"
    assert (settings.extract_model, settings.answer_model) == ("small", "large")
    assert settings.timeout == 2.5
    assert settings.use_llm is False


def test_repr_hides_the_key() -> None:
    text = repr(TravelSettings(aeroapi_key="secret-key"))
    assert "secret-key" not in text
    assert "aeroapi_key=set" in text
