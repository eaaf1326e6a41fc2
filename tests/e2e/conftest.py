"""One SDK tracer provider for the session, and a fresh span log per test.

The OpenTelemetry API lets a process install its global provider once, so the components
under test get the tracer injected (``tracer=``) instead: the listener, the agents and the
model gateway all export into the same in-memory exporter, which is what a real
deployment's collector would see for one process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Tracer


@dataclass
class Spans:
    """The spans finished during one test, with lookups by name and kind."""

    tracer: Tracer
    exporter: InMemorySpanExporter

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str, kind: SpanKind | None = None) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name == name and (kind is None or s.kind == kind)]

    def one(self, name: str, kind: SpanKind | None = None) -> ReadableSpan:
        found = self.named(name, kind)
        assert len(found) == 1, (name, kind, sorted(s.name for s in self.all()))
        return found[0]

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        return [
            s
            for s in self.all()
            if s.parent is not None and s.parent.span_id == parent.context.span_id
        ]


@pytest.fixture(scope="session")
def _provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
def spans(_provider: tuple[TracerProvider, InMemorySpanExporter]) -> Spans:
    provider, exporter = _provider
    exporter.clear()
    return Spans(provider.get_tracer("plano_asgi"), exporter)
