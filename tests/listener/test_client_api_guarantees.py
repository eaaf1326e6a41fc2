"""The listener's guarantees hold on ``/v1/responses`` and ``/v1/messages`` too.

Filters run (and their rejections come in the client API's error shape), hops carry
``x-request-id`` and ``traceparent``, a client that leaves cancels the agent, and the
listener's timeout gives a 504 naming the hop. Real uvicorn servers, real clients.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import httpx2
import pytest

from plano_asgi.telemetry.propagation import valid_traceparent
from tests.listener.agents import FakeAgent
from tests.listener.conftest import listener_config
from tests.listener.support import fakes, listener
from tests.listener.test_filters_wiring import FILTERS, Recording, block_hacks, redact

pytestmark = pytest.mark.anyio

BODIES: dict[str, Any] = {
    "/v1/responses": lambda text, stream: {"input": text, "stream": stream},
    "/v1/messages": lambda text, stream: {
        "max_tokens": 10,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    },
}


@pytest.mark.parametrize("path", list(BODIES))
async def test_filters_redact_and_reject_in_the_client_apis_error_shape(path: str) -> None:
    guard, scrub = Recording("guard", block_hacks), Recording("redact", redact)
    agent = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config(
                {"weather": url["weather"]},
                filters=FILTERS,
                listener={"input_filters": ["redact", "guard"]},
            )
            async with (
                listener(config, filters={"guard": guard, "redact": scrub}) as srv,
                httpx2.AsyncClient() as http,
            ):
                ok = await http.post(srv.url + path, json=BODIES[path]("card 4111-1111", False))
                blocked = await http.post(srv.url + path, json=BODIES[path]("hack it", False))
    assert ok.status_code == 200
    assert agent.seen[0].messages[-1] == {"role": "user", "content": "card [card]"}
    assert len(agent.seen) == 1
    assert blocked.status_code == 403
    body = blocked.json()
    if path == "/v1/messages":
        assert body["type"] == "error"
        assert body["error"]["type"] == "permission_error"
        assert "content_blocked" in body["error"]["message"]
    else:
        assert body["error"]["filter"] == "guard"
        assert "content_blocked" in body["error"]["message"]


@pytest.mark.parametrize("path", list(BODIES))
async def test_hops_carry_the_request_id_and_a_trace(path: str) -> None:
    agent = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with httpx2.AsyncClient() as http:
                    response = await http.post(
                        srv.url + path,
                        json=BODIES[path]("hi", True),
                        headers={"x-request-id": "req-42"},
                    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    headers = agent.seen[0].headers
    assert headers["x-request-id"] == "req-42"
    assert valid_traceparent(headers["traceparent"])


@pytest.mark.parametrize("path", list(BODIES))
async def test_a_client_that_leaves_cancels_the_agent(path: str) -> None:
    gate = asyncio.Event()  # never set: the agent waits after its first chunk
    agent = FakeAgent("weather", gate=gate)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with httpx2.AsyncClient() as http:
                    async with http.stream(
                        "POST", srv.url + path, json=BODIES[path]("hi", True)
                    ) as response:
                        async for _chunk in response.aiter_raw():
                            break  # leave after the first bytes
                await agent.disconnected.wait()
    assert agent.completed == 0
    assert len(agent.chunk_times) == 1


@pytest.mark.parametrize("path", list(BODIES))
async def test_the_listener_timeout_is_a_504_naming_the_agent(path: str) -> None:
    hold = asyncio.Event()  # never set: no answer at all
    agent = FakeAgent("weather", hold_headers=hold)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config({"weather": url["weather"]}, listener={"timeout": "300ms"})
            async with listener(config) as srv:
                async with httpx2.AsyncClient() as http:
                    response = await http.post(srv.url + path, json=BODIES[path]("hi", True))
    assert response.status_code == 504
    body = response.json()
    error = body["error"]
    assert "agent 'weather'" in error["message"]
    if path == "/v1/messages":
        assert body["type"] == "error"
        assert error["type"] == "api_error"
