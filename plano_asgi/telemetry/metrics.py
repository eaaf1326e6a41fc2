"""Plano's metric set, and the ``GET /metrics`` endpoint every listener can serve.

All listeners of one process share one :class:`PlanoMetrics` (:func:`get_metrics`, created
on first use, never at import). Components take an optional ``metrics=`` so tests can hand
in a fresh one. Names follow Prometheus conventions with a ``plano_`` prefix; they differ
from brightstaff's ``brightstaff_*`` names because there is no brightstaff here.

Serve it from a listener with one line, before your own routing::

    if await serve_metrics(scope, receive, send):
        return
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from starlette.types import Receive, Scope, Send

from plano_asgi._asgi import route_path
from plano_asgi.telemetry.registry import Counter, Gauge, Histogram, Registry

__all__ = [
    "METRICS_CONTENT_TYPE",
    "MetricsApp",
    "PlanoMetrics",
    "get_metrics",
    "serve_metrics",
    "status_class",
]

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60)
ROUTING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def status_class(status: int) -> str:
    """``2xx``, ``4xx``, ... for a status code (``0`` when no response was sent)."""
    return f"{status // 100}xx" if status >= 100 else "none"


@dataclass(slots=True)
class PlanoMetrics:
    """Every metric plano-asgi records, on one :class:`Registry`.

    Record through the attributes (``metrics.requests.inc(listener=..., ...)``); the
    :class:`~plano_asgi.telemetry.request.RequestTrace` helper does it for you.
    """

    registry: Registry = field(default_factory=Registry)
    requests: Counter = field(init=False)
    request_duration: Histogram = field(init=False)
    in_flight: Gauge = field(init=False)
    time_to_first_token: Histogram = field(init=False)
    routing_decisions: Counter = field(init=False)
    routing_duration: Histogram = field(init=False)
    router_fallbacks: Counter = field(init=False)
    router_escalations: Counter = field(init=False)
    filter_rejections: Counter = field(init=False)
    filter_failures: Counter = field(init=False)
    upstream_errors: Counter = field(init=False)
    llm_requests: Counter = field(init=False)
    llm_duration: Histogram = field(init=False)
    llm_time_to_first_token: Histogram = field(init=False)
    llm_tokens: Counter = field(init=False)
    llm_retries: Counter = field(init=False)
    llm_fallbacks: Counter = field(init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = r.counter(
            "plano_http_requests_total",
            "Requests answered, by listener, handler and status class.",
            ("listener", "handler", "method", "status_class"),
        )
        self.request_duration = r.histogram(
            "plano_http_request_duration_seconds",
            "Time from request to the last response byte.",
            ("listener", "handler"),
            buckets=LATENCY_BUCKETS,
        )
        self.in_flight = r.gauge(
            "plano_http_in_flight_requests", "Requests being answered.", ("listener",)
        )
        self.time_to_first_token = r.histogram(
            "plano_time_to_first_token_seconds",
            "Time from request to the first response body byte the client receives.",
            ("listener", "handler"),
            buckets=TTFT_BUCKETS,
        )
        self.routing_decisions = r.counter(
            "plano_routing_decisions_total",
            "Agents chosen, one count per selected agent.",
            ("listener", "router", "agent"),
        )
        self.routing_duration = r.histogram(
            "plano_routing_duration_seconds",
            "Time to decide which agents run.",
            ("listener", "router"),
            buckets=ROUTING_BUCKETS,
        )
        self.router_fallbacks = r.counter(
            "plano_router_fallbacks_total",
            "Decisions that fell back (router error, no agent fits, low confidence).",
            ("listener", "router", "reason"),
        )
        self.router_escalations = r.counter(
            "plano_router_escalations_total",
            "Decisions a hybrid router escalated to the LLM router.",
            ("listener", "router"),
        )
        self.filter_rejections = r.counter(
            "plano_filter_rejections_total", "Requests a filter rejected.", ("filter",)
        )
        self.filter_failures = r.counter(
            "plano_filter_failures_total",
            "Filter calls that failed; outcome is fail (request failed) or continue.",
            ("filter", "outcome"),
        )
        self.upstream_errors = r.counter(
            "plano_upstream_errors_total",
            "Failed calls to agents, filters, routers and LLM providers.",
            ("hop", "target", "error_class"),
        )
        self.llm_requests = r.counter(
            "plano_llm_requests_total",
            "Model gateway calls by resolved model and status class.",
            ("provider", "model", "status_class"),
        )
        self.llm_duration = r.histogram(
            "plano_llm_duration_seconds",
            "Model call duration, to the last byte.",
            ("provider", "model"),
            buckets=LATENCY_BUCKETS,
        )
        self.llm_time_to_first_token = r.histogram(
            "plano_llm_time_to_first_token_seconds",
            "Time from the model call to its first streamed token.",
            ("provider", "model"),
            buckets=TTFT_BUCKETS,
        )
        self.llm_tokens = r.counter(
            "plano_llm_tokens_total",
            "Tokens reported by providers, by kind (prompt, completion).",
            ("provider", "model", "kind"),
        )
        self.llm_retries = r.counter(
            "plano_llm_retries_total", "Retries of a model call.", ("provider", "model")
        )
        self.llm_fallbacks = r.counter(
            "plano_llm_fallbacks_total",
            "Switches to the next model of an alias list.",
            ("from_model", "to_model"),
        )

    def render(self) -> str:
        """The exposition text for ``GET /metrics``."""
        return self.registry.render()


_default: PlanoMetrics | None = None
_default_lock = threading.Lock()


def get_metrics() -> PlanoMetrics:
    """The process-wide metric set, created on first call."""
    global _default
    with _default_lock:
        if _default is None:
            _default = PlanoMetrics()
        return _default


async def serve_metrics(
    scope: Scope,
    receive: Receive,
    send: Send,
    metrics: PlanoMetrics | None = None,
    *,
    path: str = "/metrics",
) -> bool:
    """Answer ``GET``/``HEAD /metrics`` (or ``path``) and return True; False for anything else.

    Call it first in a listener's ``__call__``; it reads nothing from ``receive``.
    """
    if scope["type"] != "http" or route_path(scope) != path:
        return False
    if scope["method"] not in ("GET", "HEAD"):
        return False
    body = (metrics or get_metrics()).render().encode("utf-8")
    headers = [
        (b"content-type", METRICS_CONTENT_TYPE.encode("latin-1")),
        (b"content-length", str(len(body)).encode("latin-1")),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send(
        {
            "type": "http.response.body",
            "body": b"" if scope["method"] == "HEAD" else body,
            "more_body": False,
        }
    )
    return True


class MetricsApp:
    """An ASGI app that serves only ``/metrics`` (404 otherwise).

    Run it on a port of its own (Plano serves metrics on ``:9092``) when you would rather
    not expose agent and model names on the listener ports.
    """

    def __init__(self, metrics: PlanoMetrics | None = None) -> None:
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if await serve_metrics(scope, receive, send, self.metrics):
            return
        body = b"not found; metrics are at /metrics\n"
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
