"""Spans for the hops of a request: routing, filters, agents and model calls.

Each class is a :class:`~plano_asgi.telemetry.stream_span.StreamSpan` with Plano's span name and
attribute names (spec §5.2-5.3) and the metrics that go with it. You get them from a
:class:`~plano_asgi.telemetry.request.RequestTrace` rather than building them yourself.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from plano_asgi.errors import PlanoError, UpstreamError
from plano_asgi.telemetry.metrics import PlanoMetrics, status_class
from plano_asgi.telemetry.stream_span import StreamSpan

if TYPE_CHECKING:
    from plano_asgi.telemetry.request import RequestTrace

__all__ = ["Decision", "HopSpan", "LLMSpan", "ModelRoutingSpan", "RoutingSpan", "error_class"]


class Decision(Protocol):
    """What :meth:`RoutingSpan.decided` needs from a routing decision."""

    @property
    def agents(self) -> tuple[str, ...]:
        """Selected agent ids, in execution order."""
        ...

    @property
    def router(self) -> str:
        """Who decided."""
        ...

    @property
    def fallback(self) -> str | None:
        """Why the first-hand answer was not used, if it was not."""
        ...


_REASON = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _reason(fallback: str) -> str:
    """A router's own fallback code (``router_error``) as is; free text becomes ``other``."""
    return fallback if _REASON.fullmatch(fallback) else "other"


def error_class(error: BaseException | str | None, status: int | None = None) -> str:
    """A short, bounded label for what went wrong (``upstream_timeout``, ``http_503``)."""
    if isinstance(error, PlanoError) and error.code:
        return error.code
    if isinstance(error, BaseException):
        return type(error).__name__
    if status is not None and status >= 400:
        return f"http_{status}"
    return "error"


class HopSpan(StreamSpan):
    """A call to another service (agent, filter, provider): counts its failures by target."""

    __slots__ = ("_metrics", "_started", "hop", "target")

    def __init__(
        self,
        span: Span,
        parent: Context | None,
        kind: SpanKind,
        *,
        hop: str,
        target: str,
        metrics: PlanoMetrics | None,
    ) -> None:
        super().__init__(span, parent, kind)
        self.hop = hop
        self.target = target
        self._metrics = metrics
        self._started = time.perf_counter()

    @property
    def elapsed_ms(self) -> float:
        """Milliseconds since the span started."""
        return (time.perf_counter() - self._started) * 1000.0

    def end(self, *, status: int | None = None, error: BaseException | str | None = None) -> None:
        """End once; a failure (``error``, or a status >= 500) counts as an upstream error."""
        if self.ended:
            return
        failed = error is not None or (status is not None and status >= 500)
        if failed and self._metrics is not None:
            hop, target = self.hop, self.target
            if isinstance(error, UpstreamError):
                hop, target = error.hop, error.target
            self._metrics.upstream_errors.inc(
                hop=hop, target=target, error_class=error_class(error, status)
            )
        super().end(status=status, error=error)


class RoutingSpan(StreamSpan):
    """The agent-selection span; :meth:`decided` records the decision and ends it."""

    __slots__ = ("_request", "_started")

    def __init__(self, span: Span, parent: Context | None, request: RequestTrace) -> None:
        super().__init__(span, parent, SpanKind.INTERNAL)
        self._request = request
        self._started = time.perf_counter()

    def decided(self, decision: Decision, *, elapsed_ms: float | None = None) -> None:
        """Record ``decision`` here, on the request span (Plano's ``selection.*``) and in metrics.

        ``decision`` is a :class:`~plano_asgi.routing.base.RouteDecision` or anything with
        ``agents``, ``router`` and ``fallback`` (``confidence``, ``reason``, ``escalated``
        and ``details`` are read when present). ``elapsed_ms`` is the selection time if you
        measured it yourself; otherwise the time since this span started. Call it once, also
        after a fallback: record a router error you recovered from with :meth:`fail` first.
        """
        if elapsed_ms is None:
            elapsed = time.perf_counter() - self._started
        else:
            elapsed = elapsed_ms / 1000.0
        confidence = getattr(decision, "confidence", None)
        decision_reason = getattr(decision, "reason", None)
        escalated = bool(getattr(decision, "escalated", False))
        details: Mapping[str, float] = getattr(decision, "details", {})
        request = self._request
        selection: dict[str, AttributeValue | None] = {
            "selection.listener": request.listener,
            "selection.agent_count": len(decision.agents),
            "selection.agents": ",".join(decision.agents),
            "selection.determination_ms": f"{elapsed * 1000.0:.2f}",
            "plano.router": decision.router,
            "plano.router.fallback": decision.fallback,
            "plano.router.escalated": escalated,
            "plano.router.confidence": confidence,
            "plano.router.reason": decision_reason,
        }
        self.set_attributes(selection)
        for key, value in details.items():
            self.set(f"plano.router.detail.{key}", value)
        request.server.set_attributes(selection)
        request.note_decision(decision)
        metrics = request.metrics
        if metrics is not None:
            labels = {"listener": request.listener, "router": decision.router}
            metrics.routing_duration.observe(elapsed, **labels)
            for agent in decision.agents:
                metrics.routing_decisions.inc(agent=agent, **labels)
            if decision.fallback:
                # A bounded label: ``fallback_reason`` when the decision has one (the
                # listener's Selection does), else a generic class, never the free text.
                reason = getattr(decision, "fallback_reason", None) or _reason(decision.fallback)
                metrics.router_fallbacks.inc(reason=reason, **labels)
            if escalated:
                metrics.router_escalations.inc(**labels)
        self.end()


class ModelRoutingSpan(StreamSpan):
    """Model selection on the model listener (Plano's ``routing`` span, ``plano(routing)``)."""

    __slots__ = ("_started",)

    def __init__(self, span: Span, parent: Context | None) -> None:
        super().__init__(span, parent, SpanKind.INTERNAL)
        self._started = time.perf_counter()

    def resolved(
        self, requested: str, *, alias_resolved: str | None = None, selected: str | None = None
    ) -> None:
        """Record the requested model, what its alias named and the model finally chosen."""
        self.set_attributes(
            {
                "model.requested": requested,
                "model.alias_resolved": alias_resolved,
                "route.selected_model": selected,
                "routing.determination_ms": f"{(time.perf_counter() - self._started) * 1e3:.2f}",
            }
        )
        self.end()


class LLMSpan(HopSpan):
    """One model call, retries and fallbacks included, ended after the last streamed byte."""

    __slots__ = (
        "_first",
        "_tokens",
        "fallbacks",
        "model",
        "path",
        "provider",
        "requested",
        "retries",
    )

    def __init__(
        self,
        span: Span,
        parent: Context | None,
        *,
        requested: str,
        path: str,
        metrics: PlanoMetrics | None,
    ) -> None:
        super().__init__(
            span, parent, SpanKind.CLIENT, hop="provider", target=requested, metrics=metrics
        )
        self.requested = requested
        self.path = path
        self.model = requested
        self.provider = "unknown"
        self.retries = 0
        self.fallbacks: list[str] = []
        self._first: float | None = None
        self._tokens: dict[str, int] = {}

    def resolved(self, model: str, provider: str) -> None:
        """The model and provider that will answer; renames the span ``requested -> resolved``."""
        self.model = model
        self.provider = provider
        self.target = model
        arrow = self.requested if model == self.requested else f"{self.requested} -> {model}"
        self.rename(f"POST {self.path} {arrow}")
        self.set_attributes({"llm.model": model, "llm.provider": provider})

    def first_token(self) -> None:
        """Call when the first streamed token (or the whole JSON reply) arrives; once counts."""
        if self._first is None:
            self._first = self.elapsed_ms
            self.set("llm.time_to_first_token", round(self._first))

    def usage(self, prompt: int | None, completion: int | None, total: int | None = None) -> None:
        """Token usage as the provider reported it."""
        if total is None and prompt is not None and completion is not None:
            total = prompt + completion
        for kind, value in (("prompt", prompt), ("completion", completion), ("total", total)):
            if value is not None:
                self._tokens[kind] = value
                self.set(f"llm.usage.{kind}_tokens", value)

    def retry(self, error: BaseException | str | None = None, *, status: int | None = None) -> None:
        """An attempt failed and will be retried on the same model."""
        self.retries += 1
        self.event(
            "retry",
            {
                "attempt": self.retries,
                "error.type": error_class(error, status),
                "model": self.model,
            },
        )
        if self._metrics is not None:
            self._metrics.llm_retries.inc(provider=self.provider, model=self.model)

    def fallback(
        self, to_model: str, to_provider: str, error: BaseException | str | None = None
    ) -> None:
        """The current model failed; the next target of the alias takes over."""
        self.fallbacks.append(self.model)
        self.event(
            "fallback",
            {"from": self.model, "to": to_model, "error.type": error_class(error)},
        )
        if self._metrics is not None:
            self._metrics.llm_fallbacks.inc(from_model=self.model, to_model=to_model)
        self.resolved(to_model, to_provider)

    def end(self, *, status: int | None = None, error: BaseException | str | None = None) -> None:
        """End once, recording duration, retries, fallbacks and the model metrics."""
        if self.ended:
            return
        elapsed = self.elapsed_ms
        self.set("llm.duration_ms", round(elapsed))
        self.set("plano.retries", self.retries)
        if self.fallbacks:
            self.set("plano.fallbacks", ",".join(self.fallbacks))
        metrics = self._metrics
        if metrics is not None:
            labels = {"provider": self.provider, "model": self.model}
            code = status if status is not None else (502 if error is not None else 200)
            metrics.llm_requests.inc(status_class=status_class(code), **labels)
            metrics.llm_duration.observe(elapsed / 1000.0, **labels)
            if self._first is not None:
                metrics.llm_time_to_first_token.observe(self._first / 1000.0, **labels)
            for kind in ("prompt", "completion"):
                if kind in self._tokens:
                    metrics.llm_tokens.inc(self._tokens[kind], kind=kind, **labels)
        super().end(status=status, error=error)
