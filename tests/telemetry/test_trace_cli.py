"""``plano-asgi trace``: real OTLP/HTTP exports in, a tree per trace out."""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import sys
import zlib
from collections.abc import Sequence

import anyio
import httpx2
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.types import Scope

from plano_asgi.errors import UpstreamError
from plano_asgi.routing.base import RouteDecision
from plano_asgi.telemetry.metrics import PlanoMetrics
from plano_asgi.telemetry.receiver import TraceReceiver
from plano_asgi.telemetry.request import RequestTrace
from tests.support.servers import free_port, serve


def _scope() -> Scope:
    return {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}


def _one_request() -> list[ReadableSpan]:
    """A traced request made with the real helpers, captured in memory."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "plano-asgi"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    rt = RequestTrace.start(
        _scope(),
        listener="travel",
        request_id="r1",
        metrics=PlanoMetrics(),
        tracer=tracer,
        log=False,
    )
    with rt.routing() as routing:
        routing.decided(RouteDecision(agents=("weather",), router="local_v1", confidence=0.87))
    with rt.filter("pii"):
        pass
    agent = rt.start_agent("weather", message_count=2)
    llm = rt.start_llm("fast", context=agent.context)
    llm.resolved("gpt-4o-mini", "openai")
    llm.first_token()
    llm.usage(11, 22)
    llm.end(status=200)
    agent.end(error=UpstreamError("agent reset the stream", hop="agent", target="weather"))
    rt.end(status=502)
    provider.shutdown()
    return list(memory.get_finished_spans())


def _export(endpoint: str, spans: Sequence[ReadableSpan]) -> SpanExportResult:
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=5)
    try:
        return exporter.export(spans)
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]


def _check_tree(text: str) -> None:
    lines = [line for line in text.splitlines() if line]
    assert lines[0].startswith("trace ")
    assert "5 spans" in lines[0]
    assert "2 errors" in lines[0]
    assert lines[1].startswith("└── travel ")
    assert "[plano(orchestrator)]" in lines[1]
    assert "HTTP 502" in lines[1]
    assert lines[2].startswith("    ├── routing ")
    assert "-> weather (router=local_v1, confidence=0.87)" in lines[2]
    assert lines[3].startswith("    ├── execute_raw_filter (pii) ")
    assert "passed" in lines[3]
    assert lines[4].startswith("    └── weather /v1/chat/completions ")
    assert "✗ agent reset the stream" in lines[4]
    assert lines[5].startswith("        └── POST /v1/chat/completions fast -> gpt-4o-mini ")
    assert "provider=openai" in lines[5]
    assert "tokens=11+22" in lines[5]
    assert " ms" in lines[5]


@pytest.mark.anyio
async def test_real_otlp_exporter_to_in_process_receiver_prints_the_tree() -> None:
    spans = _one_request()
    out = io.StringIO()
    receiver = TraceReceiver(out, quiet=0.05)
    with anyio.fail_after(15):
        async with serve(receiver) as srv, anyio.create_task_group() as group:
            group.start_soon(receiver.watch, 0.01)
            # The exporter is synchronous (requests); run it off the event loop.
            result = await anyio.to_thread.run_sync(_export, srv.url + "/v1/traces", spans)
            await receiver.wait_printed(1)
            group.cancel_scope.cancel()
    assert result is SpanExportResult.SUCCESS
    assert receiver.spans_received == 5
    _check_tree(out.getvalue())


@pytest.mark.anyio
async def test_receiver_accepts_otlp_json_and_rejects_garbage() -> None:
    out = io.StringIO()
    receiver = TraceReceiver(out, quiet=0.0)
    trace_id = "5b8efff798038103d269b633813fc60c"
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": "eee19b7ec3c1b174",
                                "name": "root",
                                "kind": "SPAN_KIND_SERVER",
                                "startTimeUnixNano": "1000000000",
                                "endTimeUnixNano": "1250000000",
                            },
                            {
                                "traceId": trace_id,
                                "spanId": "eee19b7ec3c1b175",
                                "parentSpanId": "eee19b7ec3c1b174",
                                "name": "child",
                                "startTimeUnixNano": "1100000000",
                                "endTimeUnixNano": "1200000000",
                                "attributes": [
                                    {"key": "http.status_code", "value": {"intValue": "503"}}
                                ],
                                "status": {"code": 2, "message": "upstream 503"},
                            },
                        ]
                    }
                ],
            }
        ]
    }
    with anyio.fail_after(10):
        async with serve(receiver) as srv, httpx2.AsyncClient(base_url=srv.url) as client:
            ok = await client.post("/v1/traces", json=body)
            bad = await client.post(
                "/v1/traces",
                content=b"\xff\x00nope",
                headers={"content-type": "application/x-protobuf"},
            )
            wrong = await client.get("/v1/traces")
    assert ok.status_code == 200
    assert ok.json() == {}
    assert bad.status_code == 400
    assert wrong.status_code == 405
    assert receiver.print_ready() == 1
    assert out.getvalue().splitlines()[:3] == [
        f"trace {trace_id}  250.0 ms  2 spans  ✗ 1 error",
        "└── root  250.0 ms",
        "    └── child  100.0 ms  HTTP 503  ✗ upstream 503",
    ]


@pytest.mark.anyio
async def test_plano_asgi_trace_command_as_a_subprocess() -> None:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "plano_asgi", "trace", "--port", str(port), "--quiet", "0.05"]
    spans = _one_request()
    with anyio.fail_after(30):
        async with await anyio.open_process(command, env=env) as process:
            assert process.stdout is not None
            buffer = b""
            try:
                while b"OTEL_EXPORTER_OTLP_ENDPOINT" not in buffer:
                    buffer += await process.stdout.receive()
                url = f"http://127.0.0.1:{port}/v1/traces"
                result = await anyio.to_thread.run_sync(_export, url, spans)
                while b"\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 POST" not in buffer:  # "└── POST"
                    buffer += await process.stdout.receive()
            finally:
                process.terminate()
    assert result is SpanExportResult.SUCCESS
    text = buffer.decode()
    assert f"http://127.0.0.1:{port}" in text.splitlines()[0]
    _check_tree(text[text.index("trace ") :])


def test_trace_command_on_a_busy_port_fails_with_a_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from plano_asgi.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["trace", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.anyio
async def test_receiver_inflates_gzip_exports_but_refuses_a_bomb_with_413(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("plano_asgi.telemetry.receiver.MAX_BODY", 64 * 1024)
    receiver = TraceReceiver(io.StringIO(), quiet=0.0)
    empty = json.dumps({"resourceSpans": []}).encode()
    # 10 MiB of spaces (valid JSON padding) squeeze into about 10 KiB of gzip.
    bomb = gzip.compress(b"{" + b" " * (10 << 20) + b'"resourceSpans": []}')
    gz = {"content-type": "application/json", "content-encoding": "gzip"}
    with anyio.fail_after(10):
        async with serve(receiver) as srv, httpx2.AsyncClient(base_url=srv.url) as client:
            small = await client.post("/v1/traces", content=gzip.compress(empty), headers=gz)
            deflated = await client.post(
                "/v1/traces",
                content=zlib.compress(empty),
                headers={**gz, "content-encoding": "deflate"},
            )
            big = await client.post("/v1/traces", content=bomb, headers=gz)
            broken = await client.post("/v1/traces", content=b"not gzip", headers=gz)
    assert len(bomb) < 64 * 1024
    assert (small.status_code, deflated.status_code) == (200, 200)
    assert big.status_code == 413
    assert broken.status_code == 400
