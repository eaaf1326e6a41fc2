"""What one request leaves behind when it ends: its server span, its metrics, its log line.

:class:`RequestRecorder` is the base of :class:`~plano_asgi.telemetry.request.RequestTrace`:
it owns the request's timings and turns them into the closing record exactly once, while
``RequestTrace`` hands out the child spans. Use ``RequestTrace``; this split only keeps the
recording rules in one place.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from plano_asgi.errors import PlanoError
from plano_asgi.telemetry.logs import RequestLog, log_request
from plano_asgi.telemetry.metrics import PlanoMetrics, status_class
from plano_asgi.telemetry.spans import Decision, LLMSpan
from plano_asgi.telemetry.stream_span import TRACER_NAME, StreamSpan

__all__ = ["RequestRecorder", "start_span"]


class RequestRecorder:
    """The server span, timings, metrics and log line of one request on one listener.

    Per-request state: create it in the request, never share it between requests.
    """

    def __init__(
        self,
        server: StreamSpan,
        *,
        listener: str,
        handler: str,
        method: str,
        path: str,
        request_id: str,
        custom: Mapping[str, str],
        metrics: PlanoMetrics | None,
        tracer: trace.Tracer | None = None,
        log: bool = True,
    ) -> None:
        self.server = server
        self.listener = listener
        self.handler = handler
        self.method = method
        self.path = path
        self.request_id = request_id
        self.custom = dict(custom)
        self.metrics = metrics
        self._tracer = tracer or trace.get_tracer(TRACER_NAME)
        self._log = log
        self._started = time.perf_counter()
        self._ttft: float | None = None
        self._decision: Decision | None = None
        self._llm: LLMSpan | None = None
        self._record: RequestLog | None = None
        if metrics is not None:
            metrics.in_flight.inc(listener=listener)

    @property
    def context(self) -> Context:
        """The server span's context: the parent for hops you trace yourself."""
        return self.server.context

    @property
    def trace_id(self) -> str | None:
        """The 32-hex trace id (``None`` when there is no valid trace)."""
        return self.server.trace_id

    def first_byte(self) -> None:
        """Call when the first response body byte goes to the client (time to first token)."""
        if self._ttft is None:
            self._ttft = time.perf_counter() - self._started

    def note_decision(self, decision: Decision) -> None:
        """Remember the routing decision for the log line (``RoutingSpan.decided`` calls it)."""
        self._decision = decision

    def end(self, *, status: int, error: BaseException | str | None = None) -> RequestLog:
        """End the request once: server span, request metrics and the log line.

        ``status`` is what the client got (0 if it left first). Returns the logged record.
        """
        if self._record is not None:
            return self._record
        duration = time.perf_counter() - self._started
        decision = self._decision
        code = error.code if isinstance(error, PlanoError) else None
        if error is not None and code is None:
            code = type(error).__name__ if isinstance(error, BaseException) else "error"
        self._record = RequestLog(
            request_id=self.request_id,
            listener=self.listener,
            method=self.method,
            path=self.path,
            status=status,
            duration_ms=duration * 1000.0,
            trace_id=self.trace_id,
            ttft_ms=None if self._ttft is None else self._ttft * 1000.0,
            agents=decision.agents if decision else (),
            router=decision.router if decision else None,
            fallback=decision.fallback if decision else None,
            model=self._llm.model if self._llm else None,
            error=code,
        )
        metrics = self.metrics
        if metrics is not None:
            labels = {"listener": self.listener, "handler": self.handler}
            metrics.in_flight.dec(listener=self.listener)
            metrics.requests.inc(method=self.method, status_class=status_class(status), **labels)
            metrics.request_duration.observe(duration, **labels)
            if self._ttft is not None:
                metrics.time_to_first_token.observe(self._ttft, **labels)
        self.server.end(status=status if status else None, error=error)
        if self._log:
            log_request(self._record)
        return self._record

    def raw_span(
        self,
        name: str,
        kind: SpanKind,
        attributes: Mapping[str, Any],
        parent: Context | None = None,
    ) -> Span:
        """A bare span under this request (or ``parent``); for helpers that wrap it."""
        return start_span(self._tracer, name, parent or self.context, kind, attributes)


def start_span(
    tracer: trace.Tracer, name: str, parent: Context, kind: SpanKind, attributes: Mapping[str, Any]
) -> Span:
    """Start a span under ``parent`` without touching the current context.

    ``None`` attributes are dropped rather than rejected, and exceptions are left for
    :class:`~plano_asgi.telemetry.stream_span.StreamSpan` to record, so each one is recorded once.
    """
    clean = {k: v for k, v in attributes.items() if v is not None}
    return tracer.start_span(
        name,
        context=parent,
        kind=kind,
        attributes=clean,
        record_exception=False,
        set_status_on_exception=False,
    )
