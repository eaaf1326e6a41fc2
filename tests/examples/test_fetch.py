"""Every way a web API call can fail becomes one UpstreamError naming the service."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest

from examples.travel.lib.fetch import get_json
from examples.travel.lib.openmeteo import OpenMeteo, Place
from examples.travel.lib.settings import TravelSettings
from plano_asgi.errors import UpstreamError, UpstreamTimeoutError

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx2.Request], httpx2.Response]


async def fetch(handler: Handler) -> object:
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as client:
        return await get_json(
            client, "http://api.test/x", service="Svc", params={"a": 1}, time_limit=1.0
        )


def raises(exc: Exception) -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise exc

    return handler


async def test_json_body_is_returned_and_params_sent() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"ok": True})

    assert await fetch(handler) == {"ok": True}
    assert seen[0].url.params["a"] == "1"


async def test_timeout_becomes_upstream_timeout() -> None:
    with pytest.raises(UpstreamTimeoutError) as caught:
        await fetch(raises(httpx2.ReadTimeout("slow")))
    assert (caught.value.target, caught.value.message) == ("Svc", "Svc did not answer in time")


async def test_connect_error_becomes_upstream_error() -> None:
    with pytest.raises(UpstreamError) as caught:
        await fetch(raises(httpx2.ConnectError("refused")))
    assert caught.value.message == "Svc is unreachable"
    assert not isinstance(caught.value, UpstreamTimeoutError)


async def test_http_error_status_is_kept() -> None:
    with pytest.raises(UpstreamError) as caught:
        await fetch(lambda request: httpx2.Response(503, text="down"))
    assert caught.value.upstream_status == 503


async def test_non_json_body_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamError) as caught:
        await fetch(lambda request: httpx2.Response(200, text="<html>captive portal</html>"))
    assert caught.value.message == "Svc sent a reply that is not JSON"


async def test_geocode_with_a_qualifier_prefers_the_matching_country() -> None:
    results = [
        {"name": "Portland", "latitude": 45.5, "longitude": -122.7, "country": "United States",
         "admin1": "Oregon", "country_code": "US"},
        {"name": "Portland", "latitude": 43.7, "longitude": -70.3, "country": "United States",
         "admin1": "Maine", "country_code": "US"},
        {"name": "broken"},
    ]  # fmt: skip

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"results": results})

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as client:
        meteo = OpenMeteo(client, TravelSettings())
        maine = await meteo.geocode("Portland", "Maine")
        nowhere = await meteo.geocode("Portland", "Atlantis")
        plain = await meteo.geocode("Portland")

    assert maine is not None
    assert maine.admin1 == "Maine"
    assert nowhere == plain  # no match for the qualifier: the best match overall
    assert plain is not None
    assert plain.admin1 == "Oregon"


async def test_forecast_tolerates_missing_and_malformed_fields() -> None:
    body = {
        "current": {"temperature_2m": "warm", "weather_code": 2.0},
        "daily": {"time": ["2026-11-23"]},
    }

    async with httpx2.AsyncClient(
        transport=httpx2.MockTransport(lambda request: httpx2.Response(200, json=body))
    ) as client:
        forecast = await OpenMeteo(client, TravelSettings()).forecast(
            Place("Here", 1.0, 2.0, timezone="UTC"), 3
        )

    assert forecast.timezone == "UTC"
    assert forecast.current is not None
    assert (forecast.current.temperature, forecast.current.weather_code) == (None, 2)
    (day,) = forecast.days
    assert (day.date, day.temperature_max, day.sunrise) == ("2026-11-23", None, None)
