"""A span you end yourself, typically after the last byte of a stream; the library tracer.

The library uses opentelemetry-api only and never configures an SDK or exporter
(``plano-asgi serve`` does, from the config: :mod:`plano_asgi.telemetry.setup`).

Rules followed here (STYLE §3.11): start spans with an explicit parent context, end them
in ``finally`` after the last byte, and never attach a context across a ``yield``. That is
why nothing here touches the *current* context: you hold a :class:`StreamSpan`, pass
``span.context`` to the next hop, and end it yourself.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

__all__ = ["TRACER_NAME", "StreamSpan", "trace_id_of", "tracer"]

TRACER_NAME = "plano_asgi"


def tracer() -> trace.Tracer:
    """The library's tracer (from the global provider; a no-op until an SDK is configured)."""
    return trace.get_tracer(TRACER_NAME)


def trace_id_of(target: StreamSpan | Span | Context | None) -> str | None:
    """The 32-hex trace id of a span or context, or ``None`` when there is no valid one."""
    if isinstance(target, StreamSpan):
        span_context = target.span.get_span_context()
    elif isinstance(target, Span):
        span_context = target.get_span_context()
    else:
        span_context = trace.get_current_span(target).get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x")


class StreamSpan:
    """A started span that you end yourself, typically after the last byte of a stream.

    ``context`` is what you hand to child spans and to :func:`inject_headers` for the next
    hop. :meth:`end` is idempotent, so a ``finally`` and an error path may both call it.
    """

    __slots__ = ("_ended", "context", "kind", "span")

    def __init__(self, span: Span, parent: Context | None, kind: SpanKind) -> None:
        self.span = span
        self.kind = kind
        self._ended = False
        # With no SDK the no-op tracer returns the parent's (or an invalid) span; keep the
        # parent context then so its traceparent and baggage still flow to the next hop.
        if span.get_span_context().is_valid or parent is None:
            self.context = trace.set_span_in_context(span, parent)
        else:
            self.context = parent

    @property
    def ended(self) -> bool:
        """Whether :meth:`end` was called."""
        return self._ended

    @property
    def trace_id(self) -> str | None:
        """The 32-hex trace id, or ``None`` without a valid trace."""
        return trace_id_of(self)

    def set(self, key: str, value: AttributeValue | None) -> None:
        """Set one attribute; ``None`` values are skipped."""
        if value is not None and not self._ended:
            self.span.set_attribute(key, value)

    def set_attributes(self, attributes: Mapping[str, AttributeValue | None]) -> None:
        """Set several attributes; ``None`` values are skipped."""
        for key, value in attributes.items():
            self.set(key, value)

    def rename(self, name: str) -> None:
        """Change the span name (e.g. once the resolved model is known)."""
        if not self._ended:
            self.span.update_name(name)

    def event(self, name: str, attributes: Mapping[str, AttributeValue] | None = None) -> None:
        """Add a span event (a retry, a fallback, a dropped chunk)."""
        if not self._ended:
            self.span.add_event(name, dict(attributes or {}))

    def fail(self, error: BaseException | str) -> None:
        """Mark this span failed without ending it: exception event + status ERROR."""
        if self._ended:
            return
        if isinstance(error, BaseException):
            self.span.record_exception(error)
            self.span.set_attribute("error.type", type(error).__name__)
            message = str(error) or type(error).__name__
        else:
            message = error
            self.span.set_attribute("error.type", "error")
        self.span.set_status(Status(StatusCode.ERROR, message))

    def end(self, *, status: int | None = None, error: BaseException | str | None = None) -> None:
        """End the span once; later calls do nothing.

        ``status`` is the HTTP status (``http.status_code``); 5xx, or 4xx on a client span,
        marks the span as failed unless ``error`` already says why. ``error`` records the
        exception (or message) and sets status ERROR.
        """
        if self._ended:
            return
        if status is not None:
            self.span.set_attribute("http.status_code", status)
        if error is not None:
            self.fail(error)
        elif status is not None and (status >= 500 or (status >= 400 and self._is_client)):
            self.span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
        self._ended = True
        self.span.end()

    @property
    def _is_client(self) -> bool:
        return self.kind in (SpanKind.CLIENT, SpanKind.PRODUCER)
