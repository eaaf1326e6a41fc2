"""Everything one request records: its spans, its metrics and its log line.

Create one :class:`RequestTrace` per request when a listener takes it, hand out child
spans from it, and call :meth:`RequestTrace.end` in a ``finally`` after the last byte::

    rt = RequestTrace.start(scope, listener="travel", request_id=rid, tracing=config.tracing)
    try:
        with rt.routing() as routing:
            routing.decided(await router.route(messages, candidates))
        agent = rt.start_agent("weather", message_count=len(messages))
        inject_headers(headers, agent.context)      # traceparent for the agent hop
        ...                                         # rt.first_byte() on the first chunk out
        agent.end(status=200)
    finally:
        rt.end(status=status, error=error)          # server span, metrics, one log line

The spans follow Plano (spec §5.2-5.4); metrics go to :func:`get_metrics` unless you pass
``metrics=``. Nothing is attached to the current context except inside
:meth:`RequestTrace.routing`, because the ``Router`` protocol takes no context argument.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Literal

from opentelemetry import context as otel_context, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue
from starlette.types import Scope

from plano_asgi._asgi import route_path
from plano_asgi.config.models import Tracing
from plano_asgi.filters.base import Filter
from plano_asgi.telemetry.attributes import (
    SERVICE_AGENT,
    SERVICE_LLM,
    SERVICE_ORCHESTRATOR,
    SERVICE_OVERRIDE,
    SERVICE_ROUTING,
    custom_attributes,
)
from plano_asgi.telemetry.filtering import TracedFilter, filter_span
from plano_asgi.telemetry.metrics import PlanoMetrics, get_metrics
from plano_asgi.telemetry.propagation import extract_context
from plano_asgi.telemetry.recording import RequestRecorder, start_span
from plano_asgi.telemetry.spans import HopSpan, LLMSpan, ModelRoutingSpan, RoutingSpan
from plano_asgi.telemetry.stream_span import TRACER_NAME, StreamSpan

__all__ = ["RequestTrace", "TracedFilter"]

Attributes = Mapping[str, AttributeValue | None]


class RequestTrace(RequestRecorder):
    """The spans, metrics and log line of one request on one listener.

    Per-request state: create it in the request, never share it between requests. The
    child spans come from here; the timings and the closing record (server span, metrics,
    log line) from :class:`~plano_asgi.telemetry.recording.RequestRecorder`.
    """

    @classmethod
    def start(
        cls,
        scope: Scope,
        *,
        listener: str,
        request_id: str,
        tracing: Tracing | None = None,
        handler: str = "agent_chat",
        name: str | None = None,
        service: str = SERVICE_ORCHESTRATOR,
        component: str = "orchestrator",
        path: str | None = None,
        metrics: PlanoMetrics | None = None,
        tracer: trace.Tracer | None = None,
        log: bool = True,
    ) -> RequestTrace:
        """Start the server span of a request, continuing the client's valid ``traceparent``.

        ``name`` defaults to the listener name for the orchestrator (as Plano names it) and
        to ``METHOD path`` otherwise. ``tracing`` is ``config.tracing`` (custom attributes).
        On the model listener pass ``handler="llm_chat", service=SERVICE_LLM,
        component="gateway"``. ``metrics`` defaults to the process-wide set. ``path`` is the
        routed path when the caller already has it (computed from ``scope`` otherwise).
        """
        headers = scope.get("headers", ())
        method = str(scope.get("method", "GET"))
        if path is None:
            path = route_path(scope)
        custom = custom_attributes(tracing.span_attributes if tracing else None, headers)
        if name is None:
            name = listener if service == SERVICE_ORCHESTRATOR else f"{method} {path}"
        attributes: dict[str, AttributeValue | None] = {
            SERVICE_OVERRIDE: service,
            "component": component,
            "request_id": request_id,
            "http.method": method,
            "http.path": path,
            "plano.listener": listener,
            **custom,
        }
        otel_tracer = tracer or trace.get_tracer(TRACER_NAME)
        parent = extract_context(headers)
        span = start_span(otel_tracer, name, parent, SpanKind.SERVER, attributes)
        return cls(
            StreamSpan(span, parent, SpanKind.SERVER),
            listener=listener,
            handler=handler,
            method=method,
            path=path,
            request_id=request_id,
            custom=custom,
            metrics=metrics if metrics is not None else get_metrics(),
            tracer=otel_tracer,
            log=log,
        )

    @contextmanager
    def routing(self) -> Iterator[RoutingSpan]:
        """The agent-selection span; call ``decided(decision)`` on it inside the block.

        The span's context is the *current* context for the block, so a router that calls
        an LLM with :func:`~plano_asgi.telemetry.propagation.inject_headers` (no explicit
        context) or starts its own spans nests under it. Do not ``yield`` from a generator
        inside it.
        """
        attributes = {
            SERVICE_OVERRIDE: SERVICE_ORCHESTRATOR,
            "request_id": self.request_id,
            "selection.listener": self.listener,
            **self.custom,
        }
        span = RoutingSpan(
            self.raw_span("routing", SpanKind.INTERNAL, attributes), self.context, self
        )
        token = otel_context.attach(span.context)
        try:
            yield span
        except Exception as exc:
            span.end(error=exc)
            raise
        finally:
            otel_context.detach(token)
            span.end()

    @contextmanager
    def model_routing(self) -> Iterator[ModelRoutingSpan]:
        """Model selection on the model listener; call ``resolved(...)`` on it."""
        attributes = {SERVICE_OVERRIDE: SERVICE_ROUTING, "request_id": self.request_id}
        span = ModelRoutingSpan(
            self.raw_span("routing", SpanKind.INTERNAL, attributes), self.context
        )
        with _ending(span):
            yield span

    def filter(
        self,
        filter_id: str,
        *,
        filter_type: str = "http",
        on_error: str = "fail",
        direction: Literal["input", "output"] = "input",
        agent_id: str | None = None,
        context: Context | None = None,
    ) -> AbstractContextManager[HopSpan]:
        """One filter call: ``execute_raw_filter (<id>)`` or ``execute_mcp_filter (<id>)``.

        A :class:`~plano_asgi.errors.FilterRejectedError` escaping the block counts as a
        rejection, any other error as a failure (outcome ``continue`` when ``on_error`` is
        ``allow``); both are recorded on this span and re-raised.
        """
        return filter_span(
            self,
            filter_id,
            filter_type=filter_type,
            on_error=on_error,
            direction=direction,
            agent_id=agent_id,
            context=context,
        )

    def traced_filters(
        self,
        filters: Sequence[Filter],
        *,
        types: Mapping[str, str] | None = None,
        direction: Literal["input", "output"] = "input",
        agent_id: str | None = None,
    ) -> list[Filter]:
        """``filters`` wrapped so each call gets its own span and its hop the span's context.

        Build the per-request chain with ``FilterChain(rt.traced_filters(chain.filters,
        types={f.id: f.type for f in config.filters}))``.
        """
        return [
            TracedFilter(
                flt,
                self,
                filter_type=(types or {}).get(flt.id, "http"),
                direction=direction,
                agent_id=agent_id,
            )
            for flt in filters
        ]

    def start_agent(
        self,
        agent_id: str,
        *,
        message_count: int,
        path: str = "/v1/chat/completions",
        url: str | None = None,
        attributes: Attributes | None = None,
    ) -> HopSpan:
        """The span of one agent call, ``<agent id> <path>``; end it after its last byte."""
        attrs: dict[str, AttributeValue | None] = {
            SERVICE_OVERRIDE: SERVICE_AGENT,
            "agent_id": agent_id,
            "agent_url": url,
            "message_count": message_count,
            "request_id": self.request_id,
            **self.custom,
            **(attributes or {}),
        }
        return HopSpan(
            self.raw_span(f"{agent_id} {path}", SpanKind.CLIENT, attrs),
            self.context,
            SpanKind.CLIENT,
            hop="agent",
            target=agent_id,
            metrics=self.metrics,
        )

    def start_llm(
        self,
        requested: str,
        *,
        path: str = "/v1/chat/completions",
        stream: bool | None = None,
        temperature: float | None = None,
        context: Context | None = None,
    ) -> LLMSpan:
        """The span of one model call, ``POST <path> <requested>``; end it after its last byte.

        Call ``resolved(model, provider)`` once the target is known (renames it to
        ``POST <path> <requested> -> <resolved>``), then ``first_token()``, ``usage(...)``,
        ``retry(...)`` / ``fallback(...)`` as they happen.
        """
        attrs: dict[str, AttributeValue | None] = {
            SERVICE_OVERRIDE: SERVICE_LLM,
            "llm.model": requested,
            "llm.stream": stream,
            "llm.temperature": temperature,
            "request_id": self.request_id,
            **self.custom,
        }
        parent = context if context is not None else self.context
        span = LLMSpan(
            self.raw_span(f"POST {path} {requested}", SpanKind.CLIENT, attrs, parent),
            parent,
            requested=requested,
            path=path,
            metrics=self.metrics,
        )
        self._llm = span
        return span


@contextmanager
def _ending(span: StreamSpan) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        span.end(error=exc)
        raise
    finally:
        span.end()
