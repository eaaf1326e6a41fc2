"""``tracing``: sampling, where spans go, and which attributes they carry."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from plano_asgi.config._base import StrictModel

__all__ = ["PosthogExporter", "SpanAttributes", "Tracing"]


class SpanAttributes(StrictModel):
    """``tracing.span_attributes``: extra attributes stamped on every span."""

    header_prefixes: tuple[str, ...] = ()
    """Request headers whose names start with one of these become span attributes."""
    static: dict[str, str] = Field(default_factory=dict)
    """Fixed key/value pairs."""


class PosthogExporter(StrictModel):
    """``tracing.exporters[]`` with ``type: posthog``."""

    type: Literal["posthog"]
    url: str
    api_key: str
    distinct_id_header: str | None = None
    capture_messages: bool = False


class Tracing(StrictModel):
    """``tracing``."""

    random_sampling: int = Field(default=0, ge=0, le=100)
    """Percent of requests traced; 0 turns tracing off."""
    trace_arch_internal: bool = False
    """Legacy; accepted and ignored."""
    opentracing_grpc_endpoint: str | None = None
    """Plano's OTLP/gRPC collector (``http://host:4317``: scheme http, no path)."""
    span_attributes: SpanAttributes | None = None
    exporters: tuple[PosthogExporter, ...] = ()
    otlp_endpoint: str | None = None
    """*Ours*: OTLP/HTTP endpoint (``http://host:4318``)."""
    service_name: str | None = None
    """*Ours*: the ``service.name`` resource attribute (default ``plano-asgi``)."""

    @field_validator("opentracing_grpc_endpoint")
    @classmethod
    def _grpc_endpoint_shape(cls, value: str | None) -> str | None:
        # Same rule as Plano's CLI: Envoy takes a plain http://host:port for the collector.
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme != "http" or not parts.netloc:
            raise ValueError(f"'{value}' must be an http://host:port URL (scheme http)")
        if parts.path not in ("", "/"):
            raise ValueError(f"'{value}' must have no path (e.g. http://localhost:4317)")
        return value
