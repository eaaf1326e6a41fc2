"""Observability: spans with Plano's names, Prometheus metrics, one log line per request.

Listeners use :class:`RequestTrace` per request; ``plano-asgi serve`` calls
:func:`setup_tracing` once. Importing this package installs nothing (the OpenTelemetry SDK
is imported only inside :func:`setup_tracing`).
"""

from __future__ import annotations

from plano_asgi.telemetry.attributes import (
    SERVICE_AGENT,
    SERVICE_FILTER,
    SERVICE_LLM,
    SERVICE_ORCHESTRATOR,
    SERVICE_OVERRIDE,
    SERVICE_ROUTING,
    custom_attributes,
)
from plano_asgi.telemetry.filtering import TracedFilter
from plano_asgi.telemetry.logs import (
    RequestLog,
    configure_logging,
    format_logfmt,
    log_request,
    redact_headers,
)
from plano_asgi.telemetry.metrics import MetricsApp, PlanoMetrics, get_metrics, serve_metrics
from plano_asgi.telemetry.request import RequestTrace
from plano_asgi.telemetry.setup import TracingHandle, setup_tracing
from plano_asgi.telemetry.spans import HopSpan, LLMSpan, ModelRoutingSpan, RoutingSpan

__all__ = [
    "SERVICE_AGENT",
    "SERVICE_FILTER",
    "SERVICE_LLM",
    "SERVICE_ORCHESTRATOR",
    "SERVICE_OVERRIDE",
    "SERVICE_ROUTING",
    "HopSpan",
    "LLMSpan",
    "MetricsApp",
    "ModelRoutingSpan",
    "PlanoMetrics",
    "RequestLog",
    "RequestTrace",
    "RoutingSpan",
    "TracedFilter",
    "TracingHandle",
    "configure_logging",
    "custom_attributes",
    "format_logfmt",
    "get_metrics",
    "log_request",
    "redact_headers",
    "serve_metrics",
    "setup_tracing",
]
