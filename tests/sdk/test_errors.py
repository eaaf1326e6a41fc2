"""Errors: 400 on bad bodies, AgentError status, 500 that leaks nothing, in-band stream errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import anyio
import httpx2
import openai
import pytest

from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.errors import AgentError
from plano_agent_sdk.request import AgentRequest
from plano_agent_sdk.testing import AgentTestClient, ScriptedLLM, ScriptedReply, call_agent
from plano_asgi.errors import PlanoError
from plano_asgi.sse import SSEDecoder
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

SECRET = "sk-very-secret-prompt-text"


def _agent() -> Agent:
    agent = Agent("failing_agent")

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
        mode = request.model
        if mode == "agent-error":
            raise AgentError(403, "You may not ask that.", code="forbidden_topic")
        if mode == "crash":
            raise RuntimeError(SECRET)
        yield "partial answer"
        if mode == "crash-after-start":
            raise RuntimeError(SECRET)
        if mode == "agent-error-after-start":
            raise AgentError(409, "Changed my mind.")

    return agent


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"[]", id="not-object"),
        pytest.param(b'{"model": "m"}', id="no-messages"),
        pytest.param(b'{"messages": [{"role": "robot", "content": "x"}]}', id="bad-role"),
    ],
)
async def test_invalid_body_is_a_400_envelope(body: bytes) -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=_agent()), base_url="http://a"
    ) as client:
        response = await client.post("/v1/chat/completions", content=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"]


async def test_agent_error_sets_status_and_message() -> None:
    result = await call_agent(_agent(), "hi", model="agent-error")
    assert result.status == 403
    assert result.error == {
        "message": "You may not ask that.",
        "type": "invalid_request_error",
        "code": "forbidden_topic",
        "param": None,
    }
    assert result.request_id


async def test_agent_error_is_a_plano_error() -> None:
    error = AgentError(502, "upstream")
    assert isinstance(error, PlanoError)
    assert error.status_code == 502
    assert error.to_dict()["error"]["type"] == "agent_error"
    with pytest.raises(ValueError, match="4xx or 5xx"):
        AgentError(200, "fine")


@pytest.mark.parametrize("stream", [False, True])
async def test_unexpected_exception_is_logged_and_answered_500_without_leaks(
    stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="plano_agent_sdk"):
        result = await call_agent(_agent(), "hi", model="crash", stream=stream)
    assert result.status == 500
    assert result.error is not None
    assert result.error["type"] == "server_error"
    assert SECRET not in result.raw.decode()
    (record,) = [r for r in caplog.records if r.name == "plano_agent_sdk"]
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])


@pytest.mark.parametrize(
    ("model", "code"),
    [("crash-after-start", "internal_error"), ("agent-error-after-start", "agent_error")],
)
async def test_error_after_stream_started_is_one_in_band_event_without_done(
    model: str, code: str
) -> None:
    result = await call_agent(_agent(), "hi", model=model, stream=True)
    assert result.status == 200
    decoder = SSEDecoder()
    events = decoder.feed(result.raw) + decoder.flush()
    assert not any(e.is_done for e in events)
    errors = [e.json() for e in events if "error" in e.json()]
    assert len(errors) == 1
    assert events[-1].json() == errors[0]
    assert errors[0]["error"]["code"] == code
    assert SECRET not in result.raw.decode()
    assert result.text == "partial answer"


async def test_openai_client_raises_on_in_band_stream_error() -> None:
    with anyio.fail_after(10):
        async with (
            serve(_agent()) as srv,
            openai.AsyncOpenAI(base_url=f"{srv.url}/v1", api_key="x", max_retries=0) as client,
        ):
            stream = await client.chat.completions.create(
                model="crash-after-start", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            received: list[str] = []

            async def drain() -> None:
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        received.append(chunk.choices[0].delta.content)

            with pytest.raises(openai.APIError, match="failed to answer"):
                await drain()
    assert received == ["partial answer"]


def _timed_agent() -> Agent:
    agent = Agent("timed_agent")

    @agent.handler(timeout=0.05)
    async def handle(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
        if request.model == "after-start":
            yield "started"
        await anyio.sleep_forever()

    return agent


async def test_timeout_before_streaming_is_504() -> None:
    result = await call_agent(_timed_agent(), "hi", model="before-start", stream=True)
    assert result.status == 504
    assert result.error is not None
    assert result.error["code"] == "agent_timeout"


async def test_timeout_after_streaming_started_is_in_band() -> None:
    result = await call_agent(_timed_agent(), "hi", model="after-start", stream=True)
    assert result.status == 200
    assert result.text == "started"
    assert result.error is not None
    assert result.error["code"] == "agent_timeout"
    assert b"[DONE]" not in result.raw


async def test_handler_returning_none_is_500() -> None:
    agent = Agent("none_agent")

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> str:
        return None  # type: ignore[return-value]

    result = await call_agent(agent, "hi")
    assert result.status == 500


async def test_agent_without_handler_is_500() -> None:
    result = await call_agent(Agent("empty_agent"), "hi")
    assert result.status == 500
    assert result.error is not None
    assert result.error["message"] == "The agent failed to answer this request."


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        (ScriptedReply(status=500, error="boom"), 502, "upstream_failed"),
        (ScriptedReply(status=429, error="slow down"), 502, "upstream_failed"),
    ],
)
async def test_gateway_failure_is_an_upstream_error(
    reply: ScriptedReply, status: int, code: str
) -> None:
    agent = Agent("calling_agent")

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> str:
        answer = await ctx.llm.chat.completions.create(model="m", messages=request.llm_messages())
        return answer.choices[0].message.content or ""

    result = await call_agent(agent, "hi", llm=ScriptedLLM([reply]))
    assert result.status == status
    assert result.error is not None
    assert result.error["code"] == code
    assert result.error["upstream_status"] == reply.status


async def test_request_body_over_the_limit_is_413() -> None:
    agent = Agent("small_agent", max_body_bytes=64)

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> str:
        return "unreachable"

    async with AgentTestClient(agent) as client:
        result = await client.call("x" * 200)
    assert result.status == 413


async def test_agent_error_from_the_handlers_task_group_keeps_its_status() -> None:
    agent = Agent("grouped_agent")

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> str:
        async def refuse() -> None:
            raise AgentError(422, "Cannot plan that trip.")

        async with anyio.create_task_group() as group:
            group.start_soon(refuse)
        return "unreachable"

    result = await call_agent(agent, "hi")
    assert result.status == 422
    assert result.error is not None
    assert result.error["message"] == "Cannot plan that trip."
