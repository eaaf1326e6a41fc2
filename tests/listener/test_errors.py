"""Statuses and error envelopes: bad bodies, failing agents before and after the stream starts."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anyio
import httpx2
import openai
import pytest

from tests.listener.agents import FakeAgent
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.support import fakes, listener, user

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"


def envelope(response: httpx2.Response) -> dict[str, object]:
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert isinstance(error, dict)
    assert set(error) >= {"message", "type", "code", "param"}
    return error


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        pytest.param(b"{not json", 400, "invalid_request", None, id="not-json"),
        pytest.param(b"[1, 2]", 400, "invalid_request", None, id="not-object"),
        pytest.param(b'{"model": "m"}', 400, "invalid_request", "messages", id="no-messages"),
        pytest.param(b'{"messages": []}', 400, "invalid_request", "messages", id="empty-messages"),
        pytest.param(
            b'{"messages": "hi"}', 400, "invalid_request", "messages", id="messages-not-list"
        ),
        pytest.param(
            b'{"messages": [{"role": "wizard", "content": "x"}]}',
            400,
            "invalid_request",
            "messages[0].role",
            id="bad-role",
        ),
        pytest.param(
            b'{"messages": [{"role": "user", "content": 42}]}',
            400,
            "invalid_request",
            None,
            id="bad-content-type",
        ),
        pytest.param(
            json.dumps({"messages": [user("x" * 5000)]}).encode(),
            413,
            "payload_too_large",
            None,
            id="too-large",
        ),
    ],
)
async def test_bad_request_bodies(body: bytes, status: int, code: str, param: str | None) -> None:
    # The agent's port is closed: reaching it would be a 502, never the 4xx asserted here.
    config = listener_config({"weather": "http://127.0.0.1:9"}, listener={"max_body_bytes": 4096})
    with anyio.fail_after(10):
        async with listener(config) as srv, httpx2.AsyncClient() as http:
            response = await http.post(
                srv.url + CHAT,
                content=body,
                headers={"content-type": "application/json", "x-request-id": "req-1"},
            )
    assert response.status_code == status
    error = envelope(response)
    assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    assert response.headers["x-request-id"] == "req-1"


async def test_bad_body_through_openai_client_raises_bad_request() -> None:
    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather")) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                wizard: Any = {"role": "wizard", "content": "x"}
                with pytest.raises(openai.BadRequestError) as info:
                    await srv.api.chat.completions.create(model="m", messages=[wizard])
    assert info.value.status_code == 400
    assert "messages[0].role" in info.value.message


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_agent_5xx_becomes_502_naming_the_agent(stream: bool) -> None:
    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather", status=500)) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                with pytest.raises(openai.InternalServerError) as info:
                    await srv.api.chat.completions.create(
                        model="m", messages=[user("hi")], stream=stream
                    )
    assert info.value.status_code == 502
    body = info.value.body
    assert isinstance(body, dict)
    assert body["target"] == "weather"
    assert body["hop"] == "agent"
    assert body["upstream_status"] == 500
    assert "weather" in info.value.message
    assert info.value.response.headers["x-plano-agents"] == "weather"


async def test_agent_4xx_passes_through_with_its_body() -> None:
    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather", status=422)) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                with pytest.raises(openai.UnprocessableEntityError) as info:
                    await srv.api.chat.completions.create(model="m", messages=[user("hi")])
    assert info.value.status_code == 422
    body = info.value.body
    assert isinstance(body, dict)
    # The agent's own message and type, and the hop that answered.
    assert body["message"] == "weather refused"
    assert body["type"] == "agent_error"
    assert (body["hop"], body["target"], body["upstream_status"]) == ("agent", "weather", 422)


async def test_agent_refusing_connections_is_502() -> None:
    with anyio.fail_after(10):
        async with fakes(weather=None) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                with pytest.raises(openai.InternalServerError) as info:
                    await srv.api.chat.completions.create(model="m", messages=[user("hi")])
    assert info.value.status_code == 502
    assert "'weather' is unreachable" in info.value.message


async def test_agent_that_never_answers_is_504_after_first_byte_timeout() -> None:
    never = asyncio.Event()
    agent = FakeAgent("weather", hold_headers=never)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config(
                {"weather": url["weather"]},
                agent_extra={"weather": {"timeouts": {"first_byte": "300ms"}}},
            )
            async with listener(config) as srv:
                with pytest.raises(openai.APIStatusError) as info:
                    await srv.api.chat.completions.create(
                        model="m", messages=[user("hi")], stream=True
                    )
                never.set()
    assert info.value.status_code == 504
    body = info.value.body
    assert isinstance(body, dict)
    assert body["code"] == "upstream_timeout"
    assert body["target"] == "weather"


async def test_agent_dying_mid_stream_ends_with_one_error_event_and_no_done() -> None:
    agent = FakeAgent("weather", die_after=2)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with httpx2.AsyncClient() as http:
                    async with http.stream(
                        "POST", srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
                    ) as response:
                        raw = (await response.aread()).decode()
                stream = await srv.api.chat.completions.create(
                    model="m", messages=[user("hi")], stream=True
                )
                got: list[str] = []

                async def consume() -> None:
                    async for chunk in stream:
                        got.append(chunk.choices[0].delta.content or "")

                with pytest.raises(openai.APIError) as info:
                    await consume()
    assert response.status_code == 200
    events = [block for block in raw.split("\n\n") if block]
    assert len(events) == 3
    assert "[DONE]" not in raw
    error = json.loads(events[-1].removeprefix("data: "))["error"]
    assert error["target"] == "weather"
    assert error["hop"] == "agent"
    assert "broke off" in error["message"]
    assert got == ["weather", " says: "]
    assert "broke off" in info.value.message


async def test_agent_going_silent_mid_stream_hits_the_idle_timeout() -> None:
    never = asyncio.Event()
    agent = FakeAgent("weather", gate=never)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config(
                {"weather": url["weather"]}, listener={"timeouts": {"idle": "300ms"}}
            )
            async with listener(config) as srv, httpx2.AsyncClient() as http:
                response = await http.post(
                    srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
                )
                never.set()
    events = [block for block in response.text.split("\n\n") if block]
    assert response.status_code == 200
    assert len(events) == 2
    assert json.loads(events[1].removeprefix("data: "))["error"]["code"] == "upstream_timeout"


async def test_intermediate_agent_error_stops_the_chain_with_502() -> None:
    weather, flights = FakeAgent("weather", status=503), FakeAgent("flights")
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config({"weather": url["weather"], "flights": url["flights"]})
            router = ScriptedRouter(("weather", "flights"))
            async with listener(config, router=router) as srv, httpx2.AsyncClient() as http:
                response = await http.post(srv.url + CHAT, json={"messages": [user("hi")]})
    assert response.status_code == 502
    error = envelope(response)
    assert error["target"] == "weather"
    assert error["upstream_status"] == 503
    # The agent's own words reach the client, with the hop and its status.
    assert error["message"] == "Agent 'weather' failed with HTTP 503: weather refused."
    assert flights.seen == []
    assert response.headers["x-plano-agents"] == "weather,flights"


async def test_wrong_method_is_405_and_unknown_path_404_without_app() -> None:
    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather")) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with httpx2.AsyncClient() as http:
                    get = await http.get(srv.url + CHAT)
                    missing = await http.post(srv.url + "/v1/other", json={})
    assert get.status_code == 405
    assert get.headers["allow"] == "POST"
    assert envelope(get)["code"] == "method_not_allowed"
    assert missing.status_code == 404
    assert envelope(missing)["code"] == "not_found"


@pytest.mark.usefixtures("no_local_router")
async def test_router_returning_nonsense_counts_as_a_router_failure() -> None:
    class Broken:
        name = "broken"

        async def route(self, messages, agents):
            return 42  # not a RouteDecision

    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather"), flights=FakeAgent("flights")) as url:
            config = listener_config({"weather": url["weather"], "flights": url["flights"]})
            async with listener(config, router=Broken()) as srv, httpx2.AsyncClient() as http:
                response = await http.post(srv.url + CHAT, json={"messages": [user("hi")]})
    assert response.status_code == 200
    assert response.headers["x-plano-route-fallback"].startswith("broken failed (")


async def test_unexpected_bug_is_a_500_envelope_without_traceback() -> None:
    class ExplodingFilters:
        def chain(self, ids):
            raise RuntimeError("secret internals")

    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather")) as url:
            config = listener_config(
                {"weather": url["weather"]},
                filters=[{"id": "guard", "url": "http://127.0.0.1:9", "type": "http"}],
                listener={"input_filters": ["guard"]},
            )
            async with (
                listener(config, filters=ExplodingFilters()) as srv,
                httpx2.AsyncClient() as http,
            ):
                response = await http.post(srv.url + CHAT, json={"messages": [user("hi")]})
    assert response.status_code == 500
    error = envelope(response)
    assert error["type"] == "server_error"
    assert "secret" not in response.text
    assert "Traceback" not in response.text


async def test_pathologically_nested_body_is_an_envelope_not_a_crash() -> None:
    body = b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    config = listener_config({"weather": "http://127.0.0.1:9"})
    with anyio.fail_after(10):
        async with listener(config) as srv, httpx2.AsyncClient() as http:
            response = await http.post(srv.url + CHAT, content=body)
    assert response.status_code == 400
    assert envelope(response)["message"] == (
        "Request body is nested too deeply: at most 64 levels of arrays and objects."
    )
