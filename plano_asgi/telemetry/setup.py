"""Install the OpenTelemetry SDK and an OTLP/HTTP exporter from the config (for ``serve``).

The library itself only uses opentelemetry-api; this module is what ``plano-asgi serve``
(or your own app's startup) calls once. The SDK is imported inside :func:`setup_tracing`,
so importing this module costs nothing and changes nothing.

Decisions, in order:

1. ``OTEL_SDK_DISABLED=true`` → nothing is installed.
2. The endpoint: the ``endpoint`` argument (e.g. ``PLANO_OTLP_ENDPOINT``), then
   ``tracing.otlp_endpoint``, then ``tracing.opentracing_grpc_endpoint`` mapped to OTLP/HTTP
   (we speak OTLP over HTTP only, so a ``:4317`` gRPC port becomes ``:4318``), then the
   standard ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``.
   A base URL gets ``/v1/traces`` appended.
3. Sampling: ``tracing.random_sampling`` percent as ``ParentBased(TraceIdRatioBased)``.
   Written as ``0`` it turns tracing off, as in Plano. Left out, it is 100 when an endpoint
   is known and off otherwise. Sampling > 0 with no endpoint exports to
   ``http://localhost:4318/v1/traces`` (Plano likewise defaults to a local collector).
4. Service name: the argument, ``OTEL_SERVICE_NAME``, ``tracing.service_name``, ``plano-asgi``.

With nothing to do it installs nothing and returns a disabled :class:`TracingHandle`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import trace

from plano_asgi.config import PlanoConfig
from plano_asgi.config.models import Tracing
from plano_asgi.errors import MissingExtraError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler

__all__ = ["DEFAULT_ENDPOINT", "TracingHandle", "resolve_endpoint", "sampler_for", "setup_tracing"]

logger = logging.getLogger("plano_asgi.telemetry")

DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"
DEFAULT_SERVICE_NAME = "plano-asgi"
_FEATURE = "exporting traces (the config samples requests; OTEL_SDK_DISABLED=true turns it off)"


@dataclass(frozen=True, slots=True)
class TracingHandle:
    """What :func:`setup_tracing` installed; call :meth:`shutdown` when the process stops."""

    provider: TracerProvider | None
    endpoint: str | None
    sampling_percent: int
    service_name: str

    @property
    def enabled(self) -> bool:
        """Whether an SDK provider was created."""
        return self.provider is not None

    def tracer(self) -> trace.Tracer:
        """A tracer of this provider (the global no-op tracer when disabled)."""
        if self.provider is None:
            return trace.get_tracer("plano_asgi")
        return self.provider.get_tracer("plano_asgi")

    def force_flush(self, timeout_millis: int = 5000) -> bool:
        """Export every finished span now; True when it worked or there is nothing to do."""
        return self.provider.force_flush(timeout_millis) if self.provider is not None else True

    def shutdown(self) -> None:
        """Flush and stop the exporter (safe to call when disabled or twice)."""
        if self.provider is not None:
            self.provider.shutdown()


def resolve_endpoint(tracing: Tracing | None, endpoint: str | None = None) -> str | None:
    """The OTLP/HTTP traces URL from the argument, the config, then ``OTEL_*``; or None."""
    candidates: list[str | None] = [endpoint]
    if tracing is not None:
        candidates.append(tracing.otlp_endpoint)
        if tracing.opentracing_grpc_endpoint:
            candidates.append(_grpc_to_http(tracing.opentracing_grpc_endpoint))
    for value in candidates:
        if value:
            return _traces_url(value)
    specific = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if specific:
        return specific
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return _traces_url(base) if base else None


def _traces_url(value: str) -> str:
    parts = urlsplit(value.strip())
    path = parts.path.rstrip("/")
    if not path.endswith("/v1/traces"):
        path = f"{path}/v1/traces"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _grpc_to_http(value: str) -> str:
    parts = urlsplit(value.strip())
    netloc = parts.netloc
    if parts.port == 4317:
        netloc = netloc[: netloc.rfind(":")] + ":4318"
    return urlunsplit((parts.scheme or "http", netloc, parts.path, "", ""))


def sampler_for(percent: int) -> Sampler:
    """``ParentBased(TraceIdRatioBased(percent / 100))``: a sampled client trace stays sampled."""
    try:
        from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased
    except ImportError as exc:
        raise MissingExtraError("otel", _FEATURE, exc) from exc

    if not 0 <= percent <= 100:
        raise ValueError(f"random_sampling must be 0..100, got {percent}")
    root = ALWAYS_ON if percent == 100 else TraceIdRatioBased(percent / 100.0)
    return ParentBased(root)


def _sampling_percent(tracing: Tracing | None, endpoint: str | None) -> int:
    if tracing is not None and "random_sampling" in tracing.model_fields_set:
        return tracing.random_sampling
    return 100 if endpoint else 0


def setup_tracing(
    config: PlanoConfig | Tracing | None,
    *,
    service_name: str | None = None,
    exporter: SpanExporter | None = None,
    endpoint: str | None = None,
    install_global: bool = True,
    service_overrides: bool = False,
) -> TracingHandle:
    """Create an SDK ``TracerProvider`` exporting over OTLP/HTTP, as the config asks.

    ``exporter`` replaces the OTLP exporter (tests pass an in-memory one). With
    ``install_global`` the provider becomes the global one that
    :func:`plano_asgi.telemetry.stream_span.tracer` uses; the OpenTelemetry API allows that
    once per process. Raises :class:`~plano_asgi.errors.MissingExtraError` when tracing is
    on but the SDK (the ``otel`` extra) is not installed.
    """
    tracing = config.tracing if isinstance(config, PlanoConfig) else config
    name = (
        service_name
        or os.environ.get("OTEL_SERVICE_NAME")
        or (tracing.service_name if tracing is not None else None)
        or DEFAULT_SERVICE_NAME
    )
    url = resolve_endpoint(tracing, endpoint)
    percent = _sampling_percent(tracing, url if exporter is None else "exporter")
    disabled = os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    if disabled or percent == 0:
        return TracingHandle(None, None, 0, name)
    if url is None and exporter is None:
        url = DEFAULT_ENDPOINT

    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=url)
    except ImportError as exc:
        raise MissingExtraError("otel", _FEATURE, exc) from exc
    if service_overrides:
        from plano_asgi.telemetry.exporters import ServiceOverrideExporter

        exporter = ServiceOverrideExporter(exporter)
    resource = Resource.create({SERVICE_NAME: name})
    provider = TracerProvider(resource=resource, sampler=sampler_for(percent))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    if install_global:
        trace.set_tracer_provider(provider)
    logger.info("tracing: %d%% sampled, exporting to %s as %s", percent, url or "exporter", name)
    return TracingHandle(provider, url, percent, name)
