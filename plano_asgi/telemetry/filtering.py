"""Filter spans: one per filter call, with Plano's names, outcomes and filter metrics.

:meth:`RequestTrace.filter <plano_asgi.telemetry.request.RequestTrace.filter>` opens one
around a call you make yourself; :class:`TracedFilter` wraps a
:class:`~plano_asgi.filters.base.Filter` so a :class:`~plano_asgi.filters.chain.FilterChain`
gets them without knowing about tracing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from plano_asgi.errors import FilterRejectedError
from plano_asgi.filters.base import Filter, FilterCall
from plano_asgi.telemetry.attributes import SERVICE_FILTER, SERVICE_OVERRIDE
from plano_asgi.telemetry.propagation import inject_headers
from plano_asgi.telemetry.spans import HopSpan

if TYPE_CHECKING:
    from plano_asgi.telemetry.request import RequestTrace

__all__ = ["TracedFilter", "filter_span"]


@contextmanager
def filter_span(
    request: RequestTrace,
    filter_id: str,
    *,
    filter_type: str = "http",
    on_error: str = "fail",
    direction: Literal["input", "output"] = "input",
    agent_id: str | None = None,
    context: Context | None = None,
) -> Iterator[HopSpan]:
    """One filter call: ``execute_raw_filter (<id>)`` or ``execute_mcp_filter (<id>)``.

    A :class:`FilterRejectedError` escaping the block counts as a rejection, an
    :class:`UpstreamError` as a failure (outcome ``continue`` when ``on_error`` is
    ``allow``); both are recorded on this span and re-raised.
    """
    kind = "mcp" if filter_type == "mcp" else "raw"
    attributes = {
        SERVICE_OVERRIDE: SERVICE_FILTER,
        "filter_name": filter_id,
        "filter.type": filter_type,
        "agent_id": agent_id,
        "request_id": request.request_id,
        "plano.filter.direction": direction,
        **request.custom,
    }
    name = f"execute_{kind}_filter ({filter_id})"
    parent = context if context is not None else request.context
    span = HopSpan(
        request.raw_span(name, SpanKind.CLIENT, attributes, parent),
        parent,
        SpanKind.CLIENT,
        hop="filter",
        target=filter_id,
        metrics=request.metrics,
    )
    try:
        yield span
        span.set("plano.filter.outcome", "passed")
    except FilterRejectedError as exc:
        span.set_attributes(
            {"plano.filter.outcome": "rejected", "http.status_code": exc.status_code}
        )
        if request.metrics is not None:
            request.metrics.filter_rejections.inc(filter=filter_id)
        span.fail(exc)
        span.end()
        raise
    except Exception as exc:
        span.set("plano.filter.outcome", "failed")
        if request.metrics is not None:
            outcome = "continue" if on_error == "allow" else "fail"
            request.metrics.filter_failures.inc(filter=filter_id, outcome=outcome)
        span.end(error=exc)
        raise
    finally:
        span.end()


class TracedFilter:
    """A :class:`Filter` whose every call gets its own span and carries that span's context."""

    def __init__(
        self,
        inner: Filter,
        request: RequestTrace,
        *,
        filter_type: str = "http",
        direction: Literal["input", "output"] = "input",
        agent_id: str | None = None,
    ) -> None:
        self.id = inner.id
        self.on_error = inner.on_error
        self._inner = inner
        self._request = request
        self._type = filter_type
        self._direction: Literal["input", "output"] = direction
        self._agent_id = agent_id

    async def apply(self, payload: dict[str, Any], call: FilterCall) -> dict[str, Any] | None:
        """Call the wrapped filter inside its span, with ``traceparent`` for the filter hop."""
        with self._request.filter(
            self.id,
            filter_type=self._type,
            on_error=self.on_error,
            direction=self._direction,
            agent_id=self._agent_id,
        ) as span:
            messages = payload.get("messages")
            if isinstance(messages, list):
                span.set("message_count", len(messages))
            headers = inject_headers(dict(call.headers), span.context)
            result = await self._inner.apply(payload, replace(call, headers=headers))
            if result is None:
                span.set("plano.filter.dropped", True)
            return result

    async def aclose(self) -> None:
        """Close the wrapped filter (normally the listener owns it; this is for symmetry)."""
        await self._inner.aclose()
