"""Every handler return type over a real uvicorn, called with the official openai client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from plano_agent_sdk.chunks import collect_text, iter_chunks
from plano_asgi.sse import SSEDecoder
from tests.sdk.apps import RETURN_KINDS, TEXT, build_kinds, generator
from tests.sdk.conftest import Gateway
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
async def agent_url(gateway: Gateway) -> AsyncIterator[str]:
    async with serve(build_kinds(gateway.url), lifespan="on") as srv:
        yield f"{srv.url}/v1"


def _kind_params() -> list[str]:
    return [k for k in RETURN_KINDS if k != "generator"]


@pytest.mark.parametrize("kind", _kind_params())
async def test_return_type_non_streaming_via_openai_client(agent_url: str, kind: str) -> None:
    with anyio.fail_after(10):
        async with openai.AsyncOpenAI(base_url=agent_url, api_key="x", max_retries=0) as client:
            completion = await client.chat.completions.create(model=kind, messages=MESSAGES)
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == TEXT
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("kind", _kind_params())
async def test_return_type_streaming_via_openai_client(agent_url: str, kind: str) -> None:
    with anyio.fail_after(10):
        async with openai.AsyncOpenAI(base_url=agent_url, api_key="x", max_retries=0) as client:
            stream = await client.chat.completions.create(
                model=kind, messages=MESSAGES, stream=True
            )
            chunks = [chunk async for chunk in stream]
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    assert with_choices[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in with_choices[:-1])
    assert "".join(c.choices[0].delta.content or "" for c in with_choices) == TEXT


@pytest.mark.parametrize("kind", _kind_params())
async def test_return_type_streaming_raw_sse_follows_plano_rule(agent_url: str, kind: str) -> None:
    body = {"model": kind, "messages": MESSAGES, "stream": True}
    with anyio.fail_after(10):
        async with httpx2.AsyncClient() as client:
            response = await client.post(f"{agent_url}/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    decoder = SSEDecoder()
    events = decoder.feed(response.content) + decoder.flush()
    assert events[-1].is_done
    assert sum(e.is_done for e in events) == 1
    assert all(
        chunk["object"] == "chat.completion.chunk" for chunk in iter_chunks(response.content)
    )
    assert collect_text(response.content) == TEXT


async def test_async_generator_handler_streams_and_answers_json() -> None:
    with anyio.fail_after(10):
        async with (
            serve(generator) as srv,
            openai.AsyncOpenAI(base_url=f"{srv.url}/v1", api_key="x", max_retries=0) as client,
        ):
            stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            streamed = "".join(
                [c.choices[0].delta.content or "" async for c in stream if c.choices]
            )
            completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert streamed == TEXT
    assert completion.choices[0].message.content == TEXT


@pytest.mark.parametrize("kind", ["completion-dict", "completion-model", "upstream-completion"])
async def test_usage_is_carried_in_json_answers(agent_url: str, kind: str) -> None:
    async with openai.AsyncOpenAI(base_url=agent_url, api_key="x", max_retries=0) as client:
        completion = await client.chat.completions.create(model=kind, messages=MESSAGES)
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0


async def test_usage_from_upstream_stream_is_carried_when_streaming(agent_url: str) -> None:
    async with openai.AsyncOpenAI(base_url=agent_url, api_key="x", max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="upstream-stream", messages=MESSAGES, stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(TEXT.split())


async def test_usage_from_upstream_stream_is_carried_when_not_streaming(agent_url: str) -> None:
    async with openai.AsyncOpenAI(base_url=agent_url, api_key="x", max_retries=0) as client:
        completion = await client.chat.completions.create(
            model="upstream-stream", messages=MESSAGES
        )
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(TEXT.split())
