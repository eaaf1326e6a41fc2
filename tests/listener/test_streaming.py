"""No buffering on the response path, and a client disconnect cancels the agent at once."""

from __future__ import annotations

import asyncio
import time

import anyio
import httpx2
import pytest

from plano_asgi.middleware import PlanoMiddleware
from tests.listener.agents import FakeAgent
from tests.listener.conftest import listener_config
from tests.listener.support import client, fakes, listener, user
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"


async def test_first_chunk_reaches_client_while_agent_is_still_producing() -> None:
    gate = asyncio.Event()
    agent = FakeAgent("weather", gate=gate)
    seen_at: list[float] = []
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                stream = await srv.api.chat.completions.create(
                    model="m", messages=[user("now")], stream=True
                )
                pieces = []
                async for chunk in stream:
                    seen_at.append(time.monotonic())
                    pieces.append(chunk.choices[0].delta.content)
                    gate.set()  # only now may the agent produce chunk 2
    assert pieces == ["weather", " says: ", "now"]
    assert len(agent.chunk_times) == 3
    # The client held chunk 1 before the agent had produced chunk 2.
    assert seen_at[0] < agent.chunk_times[1]


async def test_sse_response_headers() -> None:
    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather")) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                raw = await srv.api.chat.completions.with_raw_response.create(
                    model="m", messages=[user("x")], stream=True
                )
                [chunk async for chunk in raw.parse()]
    headers = raw.headers
    assert headers["content-type"] == "text/event-stream"
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"
    assert headers["x-agent"] == "yes"  # the agent's own headers are relayed
    assert "content-length" not in headers
    assert headers["transfer-encoding"] == "chunked"


async def test_client_disconnect_cancels_the_agent_request() -> None:
    gate = asyncio.Event()
    agent = FakeAgent("weather", gate=gate)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with httpx2.AsyncClient() as http:
                    async with http.stream(
                        "POST", srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
                    ) as response:
                        async for _chunk in response.aiter_raw():
                            break  # leave after the first chunk
                await agent.disconnected.wait()
    assert agent.completed == 0
    assert len(agent.chunk_times) == 1


async def test_disconnect_during_chain_cancels_the_intermediate_agent() -> None:
    never = asyncio.Event()
    weather, flights = FakeAgent("weather", gate=never), FakeAgent("flights")
    from tests.listener.conftest import ScriptedRouter

    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config({"weather": url["weather"], "flights": url["flights"]})
            router = ScriptedRouter(("weather", "flights"))
            async with listener(config, router=router) as srv:
                async with httpx2.AsyncClient() as http:
                    with anyio.move_on_after(0.3):
                        await http.post(
                            srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
                        )
                await weather.disconnected.wait()
    assert flights.seen == []


# -- in-process agents ----------------------------------------------------------------


async def test_in_process_agent_streams_without_buffering() -> None:
    gate = asyncio.Event()
    agent = FakeAgent("weather", gate=gate)
    config = listener_config({"weather": "http://127.0.0.1:9"})  # URL never used
    seen_at: list[float] = []
    with anyio.fail_after(10):
        async with (
            PlanoMiddleware(None, config=config, agents={"weather": agent}) as app,
            serve(app) as srv,
            client(srv.url) as api,
        ):
            stream = await api.chat.completions.create(
                model="m", messages=[user("here")], stream=True
            )
            pieces = []
            async for chunk in stream:
                seen_at.append(time.monotonic())
                pieces.append(chunk.choices[0].delta.content)
                gate.set()
            plain = await api.chat.completions.create(model="m", messages=[user("json")])
    assert pieces == ["weather", " says: ", "here"]
    assert seen_at[0] < agent.chunk_times[1]
    assert plain.choices[0].message.content == "weather says: json"
    assert agent.seen[0].headers["x-arch-upstream"] == "weather"


async def test_in_process_agent_from_config_import_path() -> None:
    config = listener_config(
        {"echo": "http://127.0.0.1:9"},
        agent_extra={"echo": {"app": "tests.listener.agents:in_process_echo"}},
    )
    with anyio.fail_after(10):
        async with listener(config) as srv:
            reply = await srv.api.chat.completions.create(model="m", messages=[user("yo")])
    assert reply.choices[0].message.content == "echo says: yo"


async def test_in_process_agent_is_cancelled_when_client_leaves() -> None:
    gate = asyncio.Event()
    agent = FakeAgent("weather", gate=gate)
    config = listener_config({"weather": "http://127.0.0.1:9"})
    with anyio.fail_after(10):
        async with (
            PlanoMiddleware(None, config=config, agents={"weather": agent}) as app,
            serve(app) as srv,
            httpx2.AsyncClient() as http,
        ):
            async with http.stream(
                "POST", srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
            ) as response:
                async for _chunk in response.aiter_raw():
                    break
            await agent.cancelled.wait()
    assert agent.completed == 0
    assert len(agent.chunk_times) == 1


async def test_in_process_agent_crash_before_answer_is_502() -> None:
    async def crashing(scope, receive, send):
        raise RuntimeError("bug in agent")

    config = listener_config({"weather": "http://127.0.0.1:9"})
    with anyio.fail_after(10):
        async with (
            PlanoMiddleware(None, config=config, agents={"weather": crashing}) as app,
            serve(app) as srv,
            httpx2.AsyncClient() as http,
        ):
            response = await http.post(srv.url + CHAT, json={"messages": [user("hi")]})
    assert response.status_code == 502
    assert response.json()["error"]["target"] == "weather"
