"""Trace context and request id reach the gateway through ``ctx.llm`` with no header code."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import httpx2
import openai
import pytest

from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context, current_context
from plano_agent_sdk.gateway import gateway_client
from plano_agent_sdk.request import AgentRequest
from plano_agent_sdk.testing import LLMCall
from tests.sdk.conftest import Gateway
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def _build(gateway_url: str) -> Agent:
    agent = Agent("propagating_agent", gateway_url=gateway_url)

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> str:
        token = request.last_user_message

        async def ask(where: str) -> str:
            await anyio.lowlevel.checkpoint()  # let other requests interleave
            reply = await ctx.llm.chat.completions.create(
                model=where, messages=[{"role": "user", "content": token}]
            )
            return reply.choices[0].message.content or ""

        await ask("direct")
        async with anyio.create_task_group() as group:
            group.start_soon(ask, "anyio-task")
        task = asyncio.ensure_future(ask("asyncio-task"))
        await task
        return token

    return agent


@pytest.fixture(scope="module")
async def agent_url(gateway: Gateway) -> AsyncIterator[str]:
    async with serve(_build(gateway.url), lifespan="on") as srv:
        yield f"{srv.url}/v1"


def _calls_for(gateway: Gateway, token: str) -> list[LLMCall]:
    return [c for c in gateway.llm.calls if c.last_user_message == token]


async def test_traceparent_and_request_id_reach_the_gateway_directly_and_in_tasks(
    agent_url: str, gateway: Gateway
) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    with anyio.fail_after(10):
        async with openai.AsyncOpenAI(base_url=agent_url, api_key="x", max_retries=0) as client:
            completion = await client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": token}],
                extra_headers={
                    "traceparent": TRACEPARENT,
                    "tracestate": "vendor=abc",
                    "x-request-id": "req-propagation-1",
                },
            )
    assert completion.choices[0].message.content == token
    calls = _calls_for(gateway, token)
    assert sorted(c.body["model"] for c in calls) == ["anyio-task", "asyncio-task", "direct"]
    for call in calls:
        assert call.headers["x-request-id"] == "req-propagation-1"
        version, trace_id, span_id, flags = call.headers["traceparent"].split("-")
        assert trace_id == TRACE_ID
        assert (version, len(span_id), flags) == ("00", 16, "01")
        assert call.headers["tracestate"] == "vendor=abc"


async def test_request_without_ids_gets_a_fresh_request_id_forwarded(
    agent_url: str, gateway: Gateway
) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    async with httpx2.AsyncClient() as client:
        response = await client.post(
            f"{agent_url}/chat/completions",
            json={"messages": [{"role": "user", "content": token}]},
        )
    request_id = response.headers["x-request-id"]
    assert uuid.UUID(request_id).version == 4
    calls = _calls_for(gateway, token)
    assert len(calls) == 3
    assert {c.headers["x-request-id"] for c in calls} == {request_id}
    assert all("traceparent" not in c.headers for c in calls)


async def test_invalid_inbound_ids_are_not_forwarded(agent_url: str, gateway: Gateway) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    async with httpx2.AsyncClient() as client:
        response = await client.post(
            f"{agent_url}/chat/completions",
            json={"messages": [{"role": "user", "content": token}]},
            headers={"x-request-id": "bad id; with spaces", "traceparent": "00-zz-yy-01"},
        )
    forwarded = {c.headers["x-request-id"] for c in _calls_for(gateway, token)}
    assert forwarded == {response.headers["x-request-id"]}
    assert "bad id" not in response.headers["x-request-id"]
    assert all("traceparent" not in c.headers for c in _calls_for(gateway, token))


async def test_hundred_concurrent_requests_keep_their_own_request_id(
    agent_url: str, gateway: Gateway
) -> None:
    run = uuid.uuid4().hex[:8]
    answers: dict[int, tuple[str, str]] = {}

    async def one(client: httpx2.AsyncClient, i: int) -> None:
        response = await client.post(
            f"{agent_url}/chat/completions",
            json={"messages": [{"role": "user", "content": f"{run}-tok-{i}"}]},
            headers={"x-request-id": f"{run}-req-{i}"},
        )
        answers[i] = (
            response.headers["x-request-id"],
            response.json()["choices"][0]["message"]["content"],
        )

    limits = httpx2.Limits(max_connections=100)
    with anyio.fail_after(30):
        async with (
            httpx2.AsyncClient(limits=limits, timeout=20) as client,
            anyio.create_task_group() as group,
        ):
            for i in range(100):
                group.start_soon(one, client, i)
    assert answers == {i: (f"{run}-req-{i}", f"{run}-tok-{i}") for i in range(100)}
    for i in range(100):
        calls = _calls_for(gateway, f"{run}-tok-{i}")
        assert len(calls) == 3
        assert {c.headers["x-request-id"] for c in calls} == {f"{run}-req-{i}"}
    assert current_context() is None


async def test_gateway_client_outside_a_request_adds_no_ids(gateway: Gateway) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    client = gateway_client(gateway.url, max_retries=0)
    try:
        await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": token}]
        )
    finally:
        await client.close()
    (call,) = _calls_for(gateway, token)
    assert "x-request-id" not in call.headers
    assert "traceparent" not in call.headers


async def test_headers_passed_explicitly_win_over_the_context(gateway: Gateway) -> None:
    from plano_agent_sdk.context import _current

    token = f"tok-{uuid.uuid4().hex}"
    client = gateway_client(gateway.url, max_retries=0)
    ctx = Context(agent="a", request_id="from-context", llm=client, traceparent=TRACEPARENT)
    reset = _current.set(ctx)
    try:
        await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": token}],
            extra_headers={"x-request-id": "explicit"},
        )
    finally:
        _current.reset(reset)
        await client.close()
    (call,) = _calls_for(gateway, token)
    assert call.headers["x-request-id"] == "explicit"
    assert call.headers["traceparent"] == TRACEPARENT


async def test_agent_span_continues_the_trace_and_parents_gateway_calls(gateway: Gateway) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    agent = Agent("traced_agent", gateway_url=gateway.url, tracer=provider.get_tracer("test"))

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> str:
        reply = await ctx.llm.chat.completions.create(
            model="traced", messages=request.llm_messages()
        )
        return reply.choices[0].message.content or ""

    token = f"tok-{uuid.uuid4().hex}"
    with anyio.fail_after(10):
        async with serve(agent, lifespan="on") as srv, httpx2.AsyncClient() as client:
            await client.post(
                f"{srv.url}/v1/chat/completions",
                json={"messages": [{"role": "user", "content": token}]},
                headers={"traceparent": TRACEPARENT},
            )
    provider.shutdown()
    (span,) = exporter.get_finished_spans()
    assert span.name == "traced_agent /v1/chat/completions"
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    (call,) = _calls_for(gateway, token)
    _, trace_id, parent_id, _ = call.headers["traceparent"].split("-")
    assert (trace_id, parent_id) == (TRACE_ID, format(span.context.span_id, "016x"))


async def test_agent_span_records_a_failure() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode

    from plano_agent_sdk.errors import AgentError
    from plano_agent_sdk.testing import call_agent

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    agent = Agent("refusing_agent", tracer=provider.get_tracer("test"))

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> str:
        raise AgentError(451, "Not here.")

    result = await call_agent(agent, "hi")
    provider.shutdown()
    (span,) = exporter.get_finished_spans()
    assert result.status == 451
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["http.status_code"] == 451
