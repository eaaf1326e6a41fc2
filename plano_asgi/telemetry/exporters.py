"""An exporter wrapper that honours ``service.name.override``, as Plano's exporter does.

Plano tags spans with ``service.name.override = plano(agent)`` and friends, and its exporter
reports each such span under that service name, so Jaeger lists ``plano(orchestrator)``,
``plano(filter)``, ``plano(agent)`` and ``plano(llm)`` as separate services. Wrap your
exporter with :class:`ServiceOverrideExporter` (``setup_tracing(...,
service_overrides=True)``) to get the same view. This module imports the SDK; only
:func:`~plano_asgi.telemetry.setup.setup_tracing` imports it.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from plano_asgi.telemetry.attributes import SERVICE_OVERRIDE

__all__ = ["ServiceOverrideExporter"]


class ServiceOverrideExporter(SpanExporter):
    """Re-home spans that carry ``service.name.override`` on a resource with that name."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner
        self._resources: dict[tuple[int, str], Resource] = {}

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export ``spans``, overridden ones under their own service name."""
        return self._inner.export([self._rehome(span) for span in spans])

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        return self._inner.force_flush(timeout_millis)

    def _rehome(self, span: ReadableSpan) -> ReadableSpan:
        override = (span.attributes or {}).get(SERVICE_OVERRIDE)
        if not isinstance(override, str) or not override:
            return span
        key = (id(span.resource), override)
        resource = self._resources.get(key)
        if resource is None:
            resource = span.resource.merge(Resource({SERVICE_NAME: override}))
            self._resources[key] = resource
        return ReadableSpan(
            name=span.name,
            context=span.context,
            parent=span.parent,
            resource=resource,
            attributes=span.attributes,
            events=span.events,
            links=span.links,
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
