"""Spans of one turn: the listener span, the routing span, one span per agent call."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

from tests.listener.agents import FakeAgent
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.support import fakes, listener, user


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    tracers = TracerProvider()
    yield tracers
    tracers.shutdown()


@pytest.fixture
def exporter(provider: TracerProvider) -> InMemorySpanExporter:
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


@pytest.fixture
def tracer(provider: TracerProvider) -> Tracer:
    return provider.get_tracer("plano_asgi")


@pytest.mark.anyio
async def test_turn_spans_and_trace_propagation(
    exporter: InMemorySpanExporter, tracer: Tracer
) -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config({"weather": url["weather"], "flights": url["flights"]})
            router = ScriptedRouter(("weather", "flights"), name="scripted")
            async with listener(config, router=router, tracer=tracer) as srv:
                await srv.api.chat.completions.create(
                    model="m",
                    messages=[user("hi")],
                    extra_headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"},
                )
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {
        "travel",
        "routing",
        "weather /v1/chat/completions",
        "flights /v1/chat/completions",
    }
    root = spans["travel"]
    assert format(root.context.trace_id, "032x") == trace_id
    assert root.parent is not None
    assert format(root.parent.span_id, "016x") == "b7ad6b7169203331"
    routing = spans["routing"]
    assert routing.parent is not None
    assert routing.parent.span_id == root.context.span_id
    attributes = dict(routing.attributes or {})
    assert attributes["selection.listener"] == "travel"
    assert attributes["selection.agent_count"] == 2
    assert attributes["selection.agents"] == "weather,flights"
    assert isinstance(attributes["selection.determination_ms"], str)
    float(attributes["selection.determination_ms"])
    for agent in (weather, flights):
        span = spans[f"{agent.name} /v1/chat/completions"]
        assert span.parent is not None
        assert span.parent.span_id == root.context.span_id
        sent = agent.seen[0].headers["traceparent"].split("-")
        assert sent[1] == trace_id
        assert sent[2] == format(span.context.span_id, "016x")
