"""The listener's envelopes on the wire match the gateway's: OpenAI error types, the field
named in ``param`` for a mistyped field, and the request id on every answer."""

from __future__ import annotations

import anyio
import httpx2
import pytest

from tests.listener.agents import FakeAgent
from tests.listener.conftest import listener_config
from tests.listener.support import fakes, listener, user

pytestmark = pytest.mark.anyio


async def test_listener_rejects_stream_yes_naming_the_field() -> None:
    weather = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=weather) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with httpx2.AsyncClient() as http:
                    response = await http.post(
                        srv.url + "/v1/chat/completions",
                        json={"messages": [user("hi")], "stream": "yes"},
                        headers={"x-request-id": "client-id-7"},
                    )
    assert response.status_code == 400
    assert response.headers["x-request-id"] == "client-id-7"
    assert response.json() == {
        "error": {
            "message": "Invalid request: stream: Input should be a valid boolean",
            "type": "invalid_request_error",
            "code": "invalid_request",
            "param": "stream",
        }
    }
    assert weather.seen == []


async def test_listener_unknown_path_is_an_openai_404() -> None:
    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather")) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with httpx2.AsyncClient() as http:
                    response = await http.get(srv.url + "/v2/nothing")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "message": "Not Found",
        "type": "invalid_request_error",
        "code": "not_found",
        "param": None,
    }
