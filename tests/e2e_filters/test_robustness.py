"""What happens around a filter call: streaming clients, timeouts and clients that leave.

A shared MCP session must survive a request that timed out or was abandoned in the middle
of a ``tools/call``; the next request reuses it.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import openai
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plano_agent_sdk.filters import FilterFunction, filter_function, mcp_filter_app
from plano_asgi.filters.registry import FilterRegistry
from plano_asgi.middleware import PlanoMiddleware
from tests.e2e_filters.fakes import RecordingAgent, guard, last_user, marker
from tests.e2e_filters.stack import agent_config, listening, services, user
from tests.filters.helpers import CALL, McpSpy, chat, filter_config
from tests.support.servers import serve

pytestmark = pytest.mark.anyio


def held_until(gate: anyio.Event, entered: anyio.Event) -> FilterFunction:
    """A filter that holds turns saying ``hold`` until ``gate`` is set (others pass)."""

    async def hold(body: dict[str, Any], path: str) -> dict[str, Any]:
        if last_user(body) == "hold":
            entered.set()
            await gate.wait()
        return body

    return filter_function(hold, name="hold")


async def test_rejection_of_a_streaming_request_is_a_status_not_a_broken_stream() -> None:
    agent = RecordingAgent("rag")
    with anyio.fail_after(20):
        async with services({"agent": agent, "guard": mcp_filter_app(guard)}) as url:
            config = agent_config(
                {"rag": url["agent"]},
                [{"id": "guard", "url": url["guard"]}],
                agent_filters={"rag": ["guard"]},
            )
            async with listening(config) as served:
                with pytest.raises(openai.PermissionDeniedError) as info:
                    await served.api.chat.completions.create(
                        model="m", messages=[user("password: x")], stream=True
                    )
    assert isinstance(info.value.body, dict)
    assert info.value.body["filter"] == "guard"
    assert agent.bodies == []


async def test_mcp_session_survives_a_timed_out_call() -> None:
    gate, entered = anyio.Event(), anyio.Event()
    spy = McpSpy(mcp_filter_app(held_until(gate, entered), host="127.0.0.1"))
    agent = RecordingAgent("rag")
    with anyio.fail_after(20):
        async with services({"agent": agent, "filter": spy}) as url:
            config = agent_config(
                {"rag": url["agent"]},
                [{"id": "hold", "url": url["filter"], "timeout": "300ms"}],
                agent_filters={"rag": ["hold"]},
            )
            async with listening(config) as served:
                with pytest.raises(openai.APIStatusError) as info:
                    await served.api.chat.completions.create(model="m", messages=[user("hold")])
                gate.set()
                reply = await served.api.chat.completions.create(model="m", messages=[user("next")])
    assert info.value.status_code == 504
    assert reply.choices[0].message.content == "rag got: next"
    assert spy.count("initialize") == 1


async def test_mcp_session_survives_a_client_that_left_mid_call() -> None:
    gate, entered = anyio.Event(), anyio.Event()
    spy = McpSpy(mcp_filter_app(held_until(gate, entered), host="127.0.0.1"))
    agent = RecordingAgent("rag")
    with anyio.fail_after(20):
        async with services({"agent": agent, "filter": spy}) as url:
            config = agent_config(
                {"rag": url["agent"]},
                [{"id": "hold", "url": url["filter"]}],
                agent_filters={"rag": ["hold"]},
            )
            async with listening(config) as served:
                async with httpx2.AsyncClient() as http, anyio.create_task_group() as group:

                    async def leave() -> None:
                        await http.post(
                            f"{served.url}/v1/chat/completions",
                            json={"model": "m", "messages": [user("hold")]},
                        )

                    group.start_soon(leave)
                    await entered.wait()
                    group.cancel_scope.cancel()  # the client hangs up while the tool runs
                gate.set()
                reply = await served.api.chat.completions.create(model="m", messages=[user("next")])
    assert reply.choices[0].message.content == "rag got: next"
    assert agent.last_users == ["next"]
    assert spy.count("initialize") == 1


async def test_listener_wrapping_an_app_closes_its_filters_on_shutdown() -> None:
    """Around your own app, the listener still ends its MCP sessions when the server stops."""
    spy = McpSpy(mcp_filter_app(guard, host="127.0.0.1"))
    agent = RecordingAgent("rag")
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                seen.append(message["type"])
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return

    with anyio.fail_after(20):
        async with services({"agent": agent, "guard": spy}) as url:
            config = agent_config(
                {"rag": url["agent"]},
                [{"id": "guard", "url": url["guard"]}],
                agent_filters={"rag": ["guard"]},
            )
            app = PlanoMiddleware(inner, config=config)
            async with (
                serve(app, lifespan="on") as srv,
                openai.AsyncOpenAI(base_url=f"{srv.url}/v1", api_key="k", max_retries=0) as api,
            ):
                reply = await api.chat.completions.create(model="m", messages=[user("hi")])
            methods_at_shutdown = list(spy.http_methods)
    assert reply.choices[0].message.content == "rag got: hi"
    assert seen == ["lifespan.startup", "lifespan.shutdown"]
    assert methods_at_shutdown.count("DELETE") == 1


def holding_stream_end(app: ASGIApp, release: anyio.Event) -> ASGIApp:
    """Wrap an MCP app so each event-stream reply stays open after its last event."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        streaming = False

        async def hold_end(message: Message) -> None:
            nonlocal streaming
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                streaming = headers.get(b"content-type", b"").startswith(b"text/event-stream")
            elif streaming and not message.get("more_body", False):
                await release.wait()
            await send(message)

        await app(scope, receive, hold_end if scope["type"] == "http" else send)

    return wrapped


async def test_mcp_reply_stream_left_open_delays_neither_calls_nor_shutdown() -> None:
    """A server keeping each reply stream open after the result (keep-alives, a slow close)
    delays neither the calls nor closing the session."""
    release = anyio.Event()
    app = holding_stream_end(mcp_filter_app(marker("tag"), host="127.0.0.1"), release)
    async with services({"filter": app}) as url:
        registry = FilterRegistry(filter_config({"id": "tag", "url": url["filter"]}))
        try:
            with anyio.fail_after(5):
                results = [await registry.chain(["tag"]).run(chat(f"q{n}"), CALL) for n in range(3)]
            with anyio.fail_after(3):
                await registry.aclose()
        finally:
            release.set()
    assert [last_user(r) for r in results] == ["q0 [tag]", "q1 [tag]", "q2 [tag]"]
