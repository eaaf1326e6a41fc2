"""The gateway's span: named after the models, carrying retries, and propagated upstream."""

from __future__ import annotations

import anyio
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.gateway.fakes import FakeProvider, error_reply
from tests.gateway.helpers import make_config, openai_client, provider, running

pytestmark = pytest.mark.anyio


async def test_span_records_resolution_retries_and_propagates_trace_context() -> None:
    exporter = InMemorySpanExporter()
    tracers = TracerProvider()
    tracers.add_span_processor(SimpleSpanProcessor(exporter))
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(error_reply(500, "once"))
            config = make_config([provider("openai/gpt-4o", fake.url)])
            tracer = tracers.get_tracer("test")
            async with running(config, tracer=tracer) as url:
                async with openai_client(url, default_headers={"traceparent": parent}) as client:
                    await client.chat.completions.create(
                        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
                    )
    tracers.shutdown()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    server = spans["POST /v1/chat/completions"]
    llm = spans["POST /v1/chat/completions gpt-4o -> openai/gpt-4o"]
    assert llm.parent is not None
    assert llm.parent.span_id == server.context.span_id
    assert server.attributes is not None
    assert server.attributes["service.name.override"] == "plano(llm)"
    assert llm.attributes is not None
    assert llm.attributes["llm.model"] == "openai/gpt-4o"
    assert llm.attributes["llm.provider"] == "openai"
    assert llm.attributes["plano.retries"] == 1
    assert llm.attributes["http.status_code"] == 200
    assert llm.attributes["llm.usage.prompt_tokens"] == 7
    assert [event.name for event in llm.events] == ["retry"]
    assert format(llm.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    sent = fake.requests[-1].headers["traceparent"]
    assert sent.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    assert sent.split("-")[2] == format(llm.context.span_id, "016x")
