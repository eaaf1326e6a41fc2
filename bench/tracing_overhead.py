"""What tracing costs per request: through a real listener, and in-process.

Run from the repository root::

    python bench/tracing_overhead.py [--mode listener|inprocess|both] [--requests N]

``listener`` (the default) serves two ``PlanoMiddleware`` listeners on uvicorn over
127.0.0.1 in front of the same fake streaming agent (also on uvicorn), with one
in-process input filter: ``off`` gets a no-op tracer (what you pay with tracing off:
metrics, the log record, trace-context pass-through), ``on`` an SDK tracer sampling 100%
into a ``BatchSpanProcessor`` with a discarding exporter. A client (httpx2, keep-alive)
sends streaming chat requests one at a time, alternating between the two in batches
(ABBA order) so both see the same machine state; the table shows p50/p99 milliseconds per request,
client-side, first byte sent to last byte read.

``inprocess`` times the helpers alone (no network):

One "request" does what a routed, filtered, streamed agent request records: the server span
(continuing a client ``traceparent``), the routing span with a decision, one filter span,
one agent span with ``inject_headers``, one LLM span (resolved, first token, usage), then
``RequestTrace.end`` (metrics, log record built; the log line itself is not emitted).

Variants, interleaved round-robin in batches so each sees the same machine state:

* ``off``          no SDK installed (the opentelemetry-api no-op; what the library costs
                   when you do not trace): metrics and log record only;
* ``sampled-out``  SDK installed, but the request is not sampled (an unsampled client
                   ``traceparent`` under ParentBased): the non-recording span path;
* ``on``           SDK, every span recorded and handed to a BatchSpanProcessor whose
                   exporter discards them (export cost itself happens off the request path).

Output: markdown tables of p50/p99 per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Literal

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import NoOpTracer

from plano_asgi.routing.base import RouteDecision
from plano_asgi.telemetry.metrics import PlanoMetrics
from plano_asgi.telemetry.propagation import inject_headers
from plano_asgi.telemetry.request import RequestTrace

SAMPLED = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UNSAMPLED = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
DECISION = RouteDecision(agents=("weather",), router="local_v1", confidence=0.9)


class _Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _request(tracer: trace.Tracer, metrics: PlanoMetrics, parent: bytes) -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(b"traceparent", parent), (b"content-type", b"application/json")],
    }
    rt = RequestTrace.start(
        scope, listener="travel", request_id="r", metrics=metrics, tracer=tracer, log=False
    )
    with rt.routing() as routing:
        routing.decided(DECISION)
    with rt.filter("pii"):
        pass
    agent = rt.start_agent("weather", message_count=3)
    inject_headers({"content-type": "application/json"}, agent.context)
    llm = rt.start_llm("fast", context=agent.context)
    llm.resolved("gpt-4o-mini", "openai")
    llm.first_token()
    llm.usage(100, 50)
    llm.end(status=200)
    rt.first_byte()
    agent.end(status=200)
    rt.end(status=200)


def _table(samples: dict[str, list[float]], unit: str) -> None:
    print(f"| variant | p50 {unit}/request | p99 {unit}/request |")
    print("|---|---|---|")
    for name, values in samples.items():
        values.sort()
        p50 = statistics.median(values)
        p99 = values[max(0, int(len(values) * 0.99) - 1)]
        print(f"| {name} | {p50:.3f} | {p99:.3f} |")


async def _agent(scope: Any, receive: Any, send: Any) -> None:
    """A fake agent streaming three chunks and ``[DONE]``."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body", False):
        pass
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for piece in ("Sunny", " in", " Paris."):
        chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
        body = f"data: {json.dumps(chunk)}\n\n".encode()
        await send({"type": "http.response.body", "body": body, "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


class _PassFilter:
    id = "pii"
    on_error: Literal["fail", "allow"] = "fail"

    async def apply(self, payload: dict[str, Any], call: Any) -> dict[str, Any]:
        return payload

    async def aclose(self) -> None:
        return None


async def _listener_bench(requests: int, batch: int) -> dict[str, list[float]]:
    import contextlib

    import httpx2
    import uvicorn

    from plano_asgi.config import PlanoConfig
    from plano_asgi.middleware import PlanoMiddleware

    @contextlib.asynccontextmanager
    async def serve(app: Any) -> AsyncIterator[str]:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no started event)
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task

    on = TracerProvider()
    on.add_span_processor(BatchSpanProcessor(_Discard(), max_queue_size=65536))
    tracers: dict[str, trace.Tracer] = {"off": NoOpTracer(), "on": on.get_tracer("bench")}
    samples: dict[str, list[float]] = {name: [] for name in tracers}
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    async with serve(_agent) as agent_url, contextlib.AsyncExitStack() as stack:
        config = PlanoConfig.from_dict(
            {
                "version": "v0.4.0",
                "agents": [{"id": "weather", "url": agent_url}],
                "filters": [{"id": "pii", "url": "http://127.0.0.1:9", "type": "http"}],
                "listeners": [
                    {
                        "type": "agent",
                        "name": "travel",
                        "port": 8001,
                        "input_filters": ["pii"],
                        "agents": [{"id": "weather", "description": "weather"}],
                    }
                ],
            }
        )
        urls: dict[str, str] = {}
        for name, tracer in tracers.items():
            app = PlanoMiddleware(
                config=config, tracer=tracer, metrics=PlanoMetrics(), filters={"pii": _PassFilter()}
            )
            await stack.enter_async_context(app)
            urls[name] = await stack.enter_async_context(serve(app))
        clients = {
            name: await stack.enter_async_context(httpx2.AsyncClient(base_url=url))
            for name, url in urls.items()
        }

        async def one(client: httpx2.AsyncClient) -> float:
            start = time.perf_counter()
            async with client.stream("POST", "/v1/chat/completions", json=body) as reply:
                async for _ in reply.aiter_raw():
                    pass
            assert reply.status_code == 200
            return (time.perf_counter() - start) * 1e3

        for client in clients.values():  # warm up connections, imports and caches
            for _ in range(50):
                await one(client)
        order = list(clients.items())
        for _ in range(max(1, requests // batch)):
            for name, client in order:
                for _ in range(batch):
                    samples[name].append(await one(client))
            order.reverse()  # ABBA: neither variant always runs first
    on.shutdown()
    return samples


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["listener", "inprocess", "both"], default="listener")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None)
    args = parser.parse_args(argv)
    if args.mode in ("listener", "both"):
        requests = args.requests or 2000
        batch = args.batch or 50
        samples = asyncio.run(_listener_bench(requests, batch))
        print(f"python {platform.python_version()} on {platform.machine()}, {requests} requests")
        print("through the real listener (uvicorn, loopback, streaming agent, one filter)")
        print()
        _table(samples, "ms")
        print()
    if args.mode in ("inprocess", "both"):
        _inprocess(args.requests or 20000, args.batch or 200)
    return 0


def _inprocess(requests: int, batch: int) -> None:
    on = TracerProvider()
    on.add_span_processor(BatchSpanProcessor(_Discard(), max_queue_size=65536))
    off_sampler = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.0)))
    off_sampler.add_span_processor(BatchSpanProcessor(_Discard()))
    metrics = PlanoMetrics()
    variants: dict[str, Callable[[], None]] = {
        "off": lambda: _request(trace.get_tracer("bench"), metrics, SAMPLED),
        "sampled-out": lambda: _request(off_sampler.get_tracer("bench"), metrics, UNSAMPLED),
        "on": lambda: _request(on.get_tracer("bench"), metrics, SAMPLED),
    }
    for run in variants.values():  # warm up imports and caches
        for _ in range(200):
            run()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(max(1, requests // batch)):
        for name, run in variants.items():
            for _ in range(batch):
                start = time.perf_counter()
                run()
                samples[name].append((time.perf_counter() - start) * 1e6)
    on.shutdown()
    off_sampler.shutdown()

    print(f"python {platform.python_version()} on {platform.machine()}, {requests} requests")
    print("helpers in-process (no network)")
    print()
    _table({k: [v / 1000.0 for v in vals] for k, vals in samples.items()}, "ms")


if __name__ == "__main__":
    sys.exit(main())
