"""Trace context in and out of every hop, and spans you can end after the last byte.

The library uses opentelemetry-api only and never configures an SDK or exporter
(``plano-asgi serve`` does, from the config: :mod:`plano_asgi.telemetry.setup`). With no SDK
installed the API is a no-op, but W3C ``traceparent`` is still carried: we never drop a
client's trace context (Plano strips it when tracing is off, spec §10 item 15).

Rules followed here (STYLE §3.11): start spans with an explicit parent context, end them
in ``finally`` after the last byte, and never attach a context across a ``yield``. That is
why nothing here touches the *current* context: you hold a :class:`StreamSpan`, pass
``span.context`` to the next hop, and end it yourself.

An inbound ``traceparent`` is validated before it is trusted (:func:`valid_traceparent`);
an invalid one is ignored together with its ``tracestate``, as W3C Trace Context asks.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

__all__ = [
    "TRACER_NAME",
    "StreamSpan",
    "extract_context",
    "inject_headers",
    "new_traceparent",
    "span",
    "start_span",
    "trace_id_of",
    "tracer",
    "valid_traceparent",
]

TRACER_NAME = "plano_asgi"

_PROPAGATED = ("traceparent", "tracestate", "baggage")
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_MAX_HEADER = 8192


def tracer() -> trace.Tracer:
    """The library's tracer (from the global provider; a no-op until an SDK is configured)."""
    return _library_tracer()


def _library_tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def valid_traceparent(value: str) -> bool:
    """Whether ``value`` is a well-formed W3C ``traceparent`` you may continue.

    Version ``ff``, all-zero ids, upper-case hex and extra fields on version ``00`` are
    rejected; later versions may carry extra ``-``-separated fields (forward compatible).
    """
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return False
    version, trace_id, span_id, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return False
    return trace_id != "0" * 32 and span_id != "0" * 16


def new_traceparent() -> str:
    """A fresh, valid, unsampled W3C ``traceparent`` (random trace and parent ids).

    For a request that came without one while no tracing SDK records: every hop of the
    request then still shares one trace id, so agents and filters can correlate.
    """
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


def extract_context(headers: Iterable[tuple[bytes, bytes]] | Mapping[str, str]) -> Context:
    """The remote parent context carried by request headers (ASGI raw headers or a mapping).

    An invalid ``traceparent`` is dropped with its ``tracestate``; ``baggage`` is kept.
    """
    carrier = _carrier(headers)
    parent = carrier.get("traceparent")
    if parent is not None and not valid_traceparent(parent):
        carrier.pop("traceparent", None)
        carrier.pop("tracestate", None)
    return propagate.extract(carrier)


def _carrier(headers: Iterable[tuple[bytes, bytes]] | Mapping[str, str]) -> dict[str, str]:
    carrier: dict[str, str] = {}
    items: Iterable[tuple[str, str]]
    if isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = ((k.decode("latin-1"), v.decode("latin-1")) for k, v in headers)
    for key, value in items:
        name = key.lower()
        if name in _PROPAGATED and name not in carrier and len(value) <= _MAX_HEADER:
            carrier[name] = value
    return carrier


def inject_headers(
    headers: MutableMapping[str, str],
    context: Context | None = None,
    *,
    incoming: Mapping[str, str] | None = None,
) -> MutableMapping[str, str]:
    """Write ``traceparent``/``tracestate``/``baggage`` for ``context`` into ``headers``.

    Call it on every outbound hop with the context of the span that makes the call
    (``StreamSpan.context``). Any stale propagation headers already in ``headers`` (for
    example copied from the client) are replaced. When no span is recording (no SDK) and
    ``context`` carries no valid span, the client's own valid headers from ``incoming`` are
    carried unchanged, so the trace is never cut.
    """
    carrier: dict[str, Any] = {}
    propagate.inject(carrier, context=context)
    if "traceparent" not in carrier and incoming is not None:
        client = _carrier(incoming)
        if valid_traceparent(client.get("traceparent", "")):
            carrier = {**client, **carrier}
    existing = {k.lower(): k for k in headers}
    if "traceparent" in carrier:
        stale = set(_PROPAGATED)
    else:
        # Nothing better to send: keep a valid traceparent already in ``headers``, but drop
        # an invalid one (and its tracestate) so no hop receives garbage from us.
        stale = set(carrier)
        current = existing.get("traceparent")
        if current is not None and not valid_traceparent(headers[current]):
            stale |= {"traceparent", "tracestate"}
    for name in stale:
        if name in existing:
            del headers[existing[name]]
    for name, value in carrier.items():
        headers[name] = str(value)
    return headers


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


def start_span(
    name: str,
    *,
    context: Context | None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue | None] | None = None,
    tracer: trace.Tracer | None = None,
) -> StreamSpan:
    """Start a span under ``context`` (explicit parent; ``None`` starts a new trace).

    Nothing is attached to the current context. End it with :meth:`StreamSpan.end` in a
    ``finally`` after the last byte. ``tracer`` defaults to the library tracer.
    """
    clean = {k: v for k, v in (attributes or {}).items() if v is not None}
    otel_tracer = tracer if tracer is not None else _library_tracer()
    parent = context if context is not None else Context()
    created = otel_tracer.start_span(
        name,
        context=parent,
        kind=kind,
        attributes=clean,
        record_exception=False,
        set_status_on_exception=False,
    )
    return StreamSpan(created, parent, kind)


@contextmanager
def span(
    name: str,
    *,
    context: Context | None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue | None] | None = None,
    tracer: trace.Tracer | None = None,
) -> Iterator[StreamSpan]:
    """A span for a block: ended on exit, failed with the exception if one escapes.

    Cancellation is not an error: the span ends with ``plano.cancelled = true``.
    """
    started = start_span(name, context=context, kind=kind, attributes=attributes, tracer=tracer)
    try:
        yield started
    except Exception as exc:
        started.end(error=exc)
        raise
    except BaseException:
        started.set("plano.cancelled", True)
        started.end()
        raise
    finally:
        started.end()
