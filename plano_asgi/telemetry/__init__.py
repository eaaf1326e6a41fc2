"""Observability: spans with Plano's names, Prometheus metrics, one log line per request.

Listeners use :class:`RequestTrace` per request; ``plano-asgi serve`` calls
:func:`setup_tracing` once. Importing this package installs nothing (the OpenTelemetry SDK
is imported only inside :func:`setup_tracing`).
"""

from __future__ import annotations

import typing

from plano_asgi import _lazy

if typing.TYPE_CHECKING:
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

__getattr__, __dir__ = _lazy.lazy_exports(
    __name__,
    {
        "SERVICE_AGENT": "plano_asgi.telemetry.attributes",
        "SERVICE_FILTER": "plano_asgi.telemetry.attributes",
        "SERVICE_LLM": "plano_asgi.telemetry.attributes",
        "SERVICE_ORCHESTRATOR": "plano_asgi.telemetry.attributes",
        "SERVICE_OVERRIDE": "plano_asgi.telemetry.attributes",
        "SERVICE_ROUTING": "plano_asgi.telemetry.attributes",
        "HopSpan": "plano_asgi.telemetry.spans",
        "LLMSpan": "plano_asgi.telemetry.spans",
        "MetricsApp": "plano_asgi.telemetry.metrics",
        "ModelRoutingSpan": "plano_asgi.telemetry.spans",
        "PlanoMetrics": "plano_asgi.telemetry.metrics",
        "RequestLog": "plano_asgi.telemetry.logs",
        "RequestTrace": "plano_asgi.telemetry.request",
        "RoutingSpan": "plano_asgi.telemetry.spans",
        "TracedFilter": "plano_asgi.telemetry.filtering",
        "TracingHandle": "plano_asgi.telemetry.setup",
        "configure_logging": "plano_asgi.telemetry.logs",
        "custom_attributes": "plano_asgi.telemetry.attributes",
        "format_logfmt": "plano_asgi.telemetry.logs",
        "get_metrics": "plano_asgi.telemetry.metrics",
        "log_request": "plano_asgi.telemetry.logs",
        "redact_headers": "plano_asgi.telemetry.logs",
        "serve_metrics": "plano_asgi.telemetry.metrics",
        "setup_tracing": "plano_asgi.telemetry.setup",
    },
)
