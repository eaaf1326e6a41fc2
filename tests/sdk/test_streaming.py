"""Chunks go out as produced, and a client that leaves cancels the handler (real uvicorn)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from starlette.types import Receive, Scope, Send

from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.request import AgentRequest
from plano_asgi.chat import completion_chunk
from plano_asgi.sse import SSE_HEADERS, encode_json
from tests.sdk.conftest import serve_with
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "go"}]


SERVERS = pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])


@SERVERS
async def test_first_chunk_reaches_client_while_handler_still_produces(server: str) -> None:
    release = anyio.Event()
    log: list[tuple[str, float]] = []
    agent = Agent("slow_agent")

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
        yield "first "
        await release.wait()
        log.append(("handler resumed", time.monotonic()))
        yield "second"
        log.append(("handler done", time.monotonic()))

    pieces: list[str] = []
    with anyio.fail_after(10):
        async with (
            serve_with(server, agent) as url,
            openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0) as client,
        ):
            stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            async for chunk in stream:
                content = chunk.choices[0].delta.content if chunk.choices else None
                if content:
                    pieces.append(content)
                if content == "first ":
                    log.append(("client got first", time.monotonic()))
                    assert not release.is_set()
                    release.set()
    names = [name for name, _ in log]
    assert names == ["client got first", "handler resumed", "handler done"]
    stamps = dict(log)
    assert stamps["client got first"] < stamps["handler done"]
    assert "".join(pieces) == "first second"


@SERVERS
async def test_client_disconnect_mid_stream_cancels_the_handler(server: str) -> None:
    cancelled = anyio.Event()
    seen: list[str] = []
    agent = Agent("abandoned_agent")

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
        yield "first"
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            seen.append("cancelled")
            cancelled.set()
            raise

    body = {"model": "m", "messages": MESSAGES, "stream": True}
    with anyio.fail_after(10):
        async with serve_with(server, agent) as url, httpx2.AsyncClient() as client:
            async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
                async for line in response.aiter_lines():
                    if '"first"' in line:
                        break
            await cancelled.wait()
    assert seen == ["cancelled"]


@SERVERS
async def test_client_disconnect_before_any_output_cancels_the_handler(server: str) -> None:
    started = anyio.Event()
    cancelled = anyio.Event()
    agent = Agent("waiting_agent")

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> str:
        started.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise
        return "never"  # pragma: no cover

    async def call(url: str) -> None:
        async with httpx2.AsyncClient() as client:
            await client.post(f"{url}/v1/chat/completions", json={"messages": MESSAGES})

    with anyio.fail_after(10):
        async with serve_with(server, agent) as url, anyio.create_task_group() as group:
            group.start_soon(call, url)
            await started.wait()
            group.cancel_scope.cancel()
        with anyio.fail_after(5):
            await cancelled.wait()
    assert cancelled.is_set()


async def test_client_disconnect_closes_the_upstream_llm_stream() -> None:
    upstream_saw_disconnect = anyio.Event()
    first_sent = anyio.Event()

    async def slow_llm(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": list(SSE_HEADERS)})
        chunk = completion_chunk(id="c", model="m", role="assistant", content="thinking")
        await send({"type": "http.response.body", "body": encode_json(chunk), "more_body": True})
        first_sent.set()
        while (await receive())["type"] != "http.disconnect":
            pass
        upstream_saw_disconnect.set()

    with anyio.fail_after(10):
        async with serve(slow_llm) as llm_srv:
            agent = Agent("proxy_agent", gateway_url=f"{llm_srv.url}/v1")

            @agent.handler
            async def handle(request: AgentRequest, ctx: Context):  # type: ignore[no-untyped-def]
                return await ctx.llm.chat.completions.create(
                    model="m", messages=request.llm_messages(), stream=True
                )

            body = {"model": "m", "messages": MESSAGES, "stream": True}
            async with serve(agent, lifespan="on") as srv, httpx2.AsyncClient() as client:
                async with client.stream(
                    "POST", f"{srv.url}/v1/chat/completions", json=body
                ) as response:
                    async for line in response.aiter_lines():
                        if "thinking" in line:
                            break
                await upstream_saw_disconnect.wait()
    assert first_sent.is_set()
