"""What the observability helpers cost per request, in-process (no network).

Run from the repository root::

    python bench/tracing_overhead.py [--requests 20000]

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

Output: a markdown table of p50/p99 microseconds per request.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from plano_asgi.routing.base import RouteDecision
from plano_asgi.telemetry.metrics import PlanoMetrics
from plano_asgi.telemetry.request import RequestTrace
from plano_asgi.tracing import inject_headers

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args(argv)

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
    for _ in range(max(1, args.requests // args.batch)):
        for name, run in variants.items():
            for _ in range(args.batch):
                start = time.perf_counter()
                run()
                samples[name].append((time.perf_counter() - start) * 1e6)
    on.shutdown()
    off_sampler.shutdown()

    print(f"python {platform.python_version()} on {platform.machine()}, {args.requests} requests")
    print()
    print("| variant | p50 µs/request | p99 µs/request |")
    print("|---|---|---|")
    for name, values in samples.items():
        values.sort()
        p50 = statistics.median(values)
        p99 = values[int(len(values) * 0.99) - 1]
        print(f"| {name} | {p50:.1f} | {p99:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
