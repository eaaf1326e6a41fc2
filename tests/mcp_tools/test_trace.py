"""A nested agent call is one trace: client -> listener -> caller agent -> /mcp -> echo agent.

The listener and the agents record into one in-memory exporter (real uvicorn, real MCP
client and server); the echo agent's span must descend from the caller agent's span.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from plano_asgi.config import PlanoConfig
from plano_asgi.middleware import PlanoMiddleware
from tests.mcp_tools.agents import build_agents
from tests.mcp_tools.stack import mcp_session, text_of
from tests.support.servers import serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


def ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    by_id = {s.context.span_id: s for s in spans}
    names: list[str] = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(f"{span.name} ({span.kind.name})")
    return names


async def test_a_nested_tool_call_is_one_trace_under_the_calling_agent(
    exporter: InMemorySpanExporter,
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("plano_asgi")
    agents = build_agents(tracer)
    config = PlanoConfig.from_dict(
        {
            "version": "v0.3.0",
            "agents": [{"id": name, "url": "http://127.0.0.1:9"} for name in agents],
            "listeners": [
                {
                    "type": "agent",
                    "name": "tools",
                    "router": "local_v1",
                    "agents": [{"id": name, "description": name} for name in agents],
                }
            ],
        }
    )
    listener = PlanoMiddleware(config=config, agents=dict(agents), tracer=tracer)
    async with listener, serve(listener) as srv:
        async with mcp_session(f"{srv.url}/mcp", {"traceparent": TRACEPARENT}) as session:
            result = await session.call_tool("caller_agent", {"message": "hi"})
    for agent in agents.values():
        await agent.aclose()
    assert not result.is_error, text_of(result)
    spans = list(exporter.get_finished_spans())
    assert {format(s.context.trace_id, "032x") for s in spans} == {TRACE_ID}
    echo = [
        s
        for s in spans
        if s.name == "echo_agent /v1/chat/completions" and s.kind == SpanKind.SERVER
    ]
    assert len(echo) == 1
    chain = ancestors(echo[0], spans)
    # The echo agent's span sits under the nested listener turn, which the caller agent's
    # own span started, under the outer turn of the MCP client.
    assert chain == [
        "echo_agent /v1/chat/completions (CLIENT)",
        "tools (SERVER)",
        "caller_agent /v1/chat/completions (SERVER)",
        "caller_agent /v1/chat/completions (CLIENT)",
        "tools (SERVER)",
    ]
