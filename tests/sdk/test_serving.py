"""Routes, mounting, lifespan, and running under uvicorn, hypercorn and granian."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from starlette.applications import Starlette
from starlette.routing import Mount

from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.request import AgentRequest
from tests.sdk.apps import TEXT, build_kinds
from tests.sdk.conftest import Gateway, serve_hypercorn, wait_healthy
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]


def _echo(name: str = "echo_agent", **kwargs: object) -> Agent:
    agent = Agent(name, description="Repeats the last user message.", **kwargs)  # type: ignore[arg-type]

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> str:
        return request.last_user_message

    return agent


async def _exercise(base_url: str, expected: str = "hello") -> None:
    """Non-streaming and streaming calls plus /v1/models with the official client."""
    async with openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0) as client:
        completion = await client.chat.completions.create(model="str", messages=MESSAGES)
        assert completion.choices[0].message.content == expected
        stream = await client.chat.completions.create(model="str", messages=MESSAGES, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text == expected
        models = await client.models.list()
        assert len(models.data) == 1


async def test_models_lists_the_agent() -> None:
    async with (
        serve(_echo()) as srv,
        openai.AsyncOpenAI(base_url=f"{srv.url}/v1", api_key="x") as client,
    ):
        models = await client.models.list()
    assert [m.id for m in models.data] == ["echo_agent"]
    assert models.data[0].model_extra == {"description": "Repeats the last user message."}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("HEAD", "/v1/models", 200),
        ("GET", "/v1/chat/completions", 405),
        ("POST", "/v1/models", 405),
        ("GET", "/nope", 404),
    ],
)
async def test_routes(method: str, path: str, status: int) -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=_echo()), base_url="http://a"
    ) as client:
        response = await client.request(method, path)
    assert response.status_code == status
    if status >= 400:
        assert "error" in response.json()


async def test_mounted_under_starlette_with_lifespan(gateway: Gateway) -> None:
    agent = build_kinds(gateway.url)
    app = Starlette(routes=[Mount("/agents/kinds", app=agent)], lifespan=agent.lifespan)
    with anyio.fail_after(10):
        async with serve(app, lifespan="on") as srv:
            await _exercise(f"{srv.url}/agents/kinds/v1", expected=TEXT)
            async with httpx2.AsyncClient() as client:
                health = await client.get(f"{srv.url}/agents/kinds/healthz")
                outside = await client.get(f"{srv.url}/v1/models")
            assert health.status_code == 200
            assert outside.status_code == 404
            upstream = await _upstream_text(f"{srv.url}/agents/kinds/v1")
            assert upstream == TEXT
            client_used = agent._llm
            assert client_used is not None
    assert client_used.is_closed()
    assert agent._llm is None


async def _upstream_text(base_url: str) -> str:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0) as client:
        answer = await client.chat.completions.create(
            model="upstream-completion", messages=MESSAGES
        )
    return answer.choices[0].message.content or ""


async def test_uvicorn_lifespan_shutdown_closes_the_gateway_client(gateway: Gateway) -> None:
    agent = build_kinds(gateway.url)
    with anyio.fail_after(10):
        async with serve(agent, lifespan="on") as srv:
            assert await _upstream_text(f"{srv.url}/v1") == TEXT
            used = agent._llm
    assert used is not None
    assert used.is_closed()
    assert agent._llm is None
    assert agent.llm is not used  # a fresh client on next use
    await agent.aclose()


async def test_injected_client_is_not_closed_by_the_agent(gateway: Gateway) -> None:
    from plano_agent_sdk.gateway import gateway_client

    llm = gateway_client(gateway.url)
    agent = Agent("injected", llm=llm)
    async with agent:
        assert agent.llm is llm
    assert not llm.is_closed()
    assert agent.llm is llm
    await llm.close()


async def test_runs_under_hypercorn(gateway: Gateway) -> None:
    agent = build_kinds(gateway.url)
    with anyio.fail_after(15):
        async with serve_hypercorn(agent) as url:
            await _exercise(f"{url}/v1", expected=TEXT)
            assert await _upstream_text(f"{url}/v1") == TEXT
            used = agent._llm
    assert used is not None
    assert used.is_closed()  # hypercorn sent lifespan shutdown


@pytest.fixture
async def granian_url(gateway: Gateway) -> AsyncIterator[str]:
    port = free_port()
    env = {**os.environ, "LLM_GATEWAY_ENDPOINT": gateway.url}
    command = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-ws",
        "--log-level",
        "warning",
        "tests.sdk.apps:kinds",
    ]
    process = await anyio.open_process(command, env=env, cwd=ROOT, stdout=None, stderr=None)
    try:
        with anyio.fail_after(20):
            await wait_healthy(f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        with anyio.move_on_after(10) as waited:
            await process.wait()
        if waited.cancelled_caught:
            process.kill()
            await process.wait()
        await process.aclose()


async def test_runs_under_granian(granian_url: str, gateway: Gateway) -> None:
    before = len(gateway.llm.calls)
    with anyio.fail_after(15):
        await _exercise(f"{granian_url}/v1", expected=TEXT)
        assert await _upstream_text(f"{granian_url}/v1") == TEXT
    (call,) = gateway.llm.calls[before:]
    assert call.body["model"] == "upstream"
    assert call.headers["x-request-id"]
