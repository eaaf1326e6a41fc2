"""Fixtures: an SDK tracer on a provider of our own (never the global one) and fresh metrics."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Tracer

from plano_asgi.telemetry.metrics import PlanoMetrics
from plano_asgi.telemetry.recording import start_span as raw_start_span
from plano_asgi.telemetry.stream_span import StreamSpan


@dataclass
class Recorder:
    tracer: Tracer
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def by_name(self, name: str) -> ReadableSpan:
        found = [s for s in self.spans() if s.name == name]
        assert len(found) == 1, [s.name for s in self.spans()]
        return found[0]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Recorder(provider.get_tracer("test"), exporter)
    provider.shutdown()


@pytest.fixture
def metrics() -> PlanoMetrics:
    return PlanoMetrics()


def start_span(
    name: str,
    *,
    context: Context | None,
    tracer: Tracer,
    kind: SpanKind = SpanKind.INTERNAL,
) -> StreamSpan:
    """A :class:`StreamSpan` under ``context`` (``None``: a new trace), as the listeners make."""
    parent = context if context is not None else Context()
    return StreamSpan(raw_start_span(tracer, name, parent, kind, {}), parent, kind)
