"""What every exchange of one gateway shares, built once when the gateway starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from opentelemetry.trace import Tracer

from plano_asgi.config import HopTimeouts, Tracing
from plano_asgi.filters.chain import FilterChain
from plano_asgi.gateway.preferences import PreferenceRouter
from plano_asgi.gateway.provider_client import ProviderCalls
from plano_asgi.gateway.providers import Endpoint
from plano_asgi.gateway.ratelimit import RateLimiter
from plano_asgi.gateway.resolution import ModelResolver
from plano_asgi.gateway.retry import RetryPolicy
from plano_asgi.outbound.seam import HttpClient
from plano_asgi.redaction import NO_SECRETS, Redactor
from plano_asgi.telemetry.metrics import PlanoMetrics

__all__ = ["GatewayDeps"]


@dataclass(frozen=True, slots=True)
class GatewayDeps:
    """What every exchange shares: built once by :class:`~plano_asgi.gateway.app.ModelGateway`."""

    client: HttpClient
    """Every outbound call: providers (through :attr:`provider_client`), HTTP filters and
    the preference router's model (see :mod:`plano_asgi.outbound`)."""
    provider_client: ProviderCalls
    """Provider calls over :attr:`client` (see :mod:`plano_asgi.gateway.provider_client`)."""
    resolver: ModelResolver
    endpoints: dict[str, Endpoint | None]
    timeouts: dict[str, HopTimeouts]
    retry: RetryPolicy
    limiter: RateLimiter
    input_filters: FilterChain | None
    output_filters: FilterChain | None
    max_body_bytes: int
    tracer: Tracer | None = None
    listener: str = "llm"
    """The model listener's name (spans, metrics and the access log)."""
    tracing: Tracing | None = None
    """``config.tracing``: custom span attributes."""
    metrics: PlanoMetrics | None = None
    """Where request and model metrics go (default: the process-wide set)."""
    filter_types: Mapping[str, str] = field(default_factory=dict)
    """Filter id -> ``http`` or ``mcp``, for filter span names."""
    preferences: PreferenceRouter | None = None
    """Preference-based model routing (``None``: requests keep the model they ask for)."""
    redactor: Redactor = NO_SECRETS
    """The config's keys (:attr:`~plano_asgi.config.PlanoConfig.secrets`), kept out of
    answers, errors and logs; each exchange adds the client's own key."""
