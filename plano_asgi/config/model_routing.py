"""The model listener's routing knobs: ``routing``, ``model_metrics_sources``, ``prompt_caching``.

None of these affect agent listeners.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from plano_asgi.config._base import StrictModel

__all__ = [
    "CostMetricsSource",
    "LatencyMetricsSource",
    "MetricsSource",
    "PromptCaching",
    "Routing",
    "RoutingBudget",
    "SessionCache",
]


class SessionCache(StrictModel):
    """``routing.session_cache``: where session-pinned routing decisions live."""

    type: Literal["memory", "redis"] = "memory"
    url: str | None = None
    """``redis://`` or ``rediss://`` URL; required when ``type: redis``."""
    tenant_header: str | None = None
    """Request header whose value scopes cache keys per tenant."""


class RoutingBudget(StrictModel):
    """``routing.routing_budget``: caps what switching models mid-session may cost.

    Needs a ``type: cost`` entry in ``model_metrics_sources``.
    """

    max_switch_spend_pct: float = Field(ge=0, le=100)
    """Extra spend allowed for switching, in percent of never switching (0..100)."""
    replenish_on_rebind: bool = True
    cache_read_discount: float = Field(default=0.1, ge=0, le=1)
    record_counterfactual: bool = False


class Routing(StrictModel):
    """``routing``: session pinning and the switching budget of preference routing."""

    llm_provider: str | None = None
    """Legacy (v0.2-era Arch-Router setup)."""
    model: str | None = None
    """Legacy (v0.2-era Arch-Router setup)."""
    session_ttl_seconds: int = Field(default=600, ge=1)
    session_max_entries: int = Field(default=10000, ge=1, le=10000)
    session_cache: SessionCache = Field(default_factory=SessionCache)
    routing_budget: RoutingBudget | None = None
    route_on_user_only: bool = False
    """Route only when the last message is a user turn; otherwise replay the last decision."""
    router: Literal["plano_orchestrator_v1", "local_v1", "hybrid_v1"] | None = None
    """*Ours*: who picks the routing preference: the embedded ``local_v1``, the
    ``overrides.llm_routing_model`` (``plano_orchestrator_v1``) or both (``hybrid_v1``).
    Default: ``hybrid_v1`` when ``llm_routing_model`` is set, else ``local_v1``."""


class CostMetricsSource(StrictModel):
    """``model_metrics_sources[]`` with ``type: cost``: a pricing catalog."""

    type: Literal["cost"]
    provider: Literal["digitalocean", "models.dev"]
    url: str | None = None
    refresh_interval: int | None = Field(default=None, ge=1)
    """Seconds between refreshes."""
    model_aliases: dict[str, str] = Field(default_factory=dict)
    """Catalog key -> the model name used in ``routing_preferences``."""


class LatencyMetricsSource(StrictModel):
    """``model_metrics_sources[]`` with ``type: latency``: a Prometheus query."""

    type: Literal["latency"]
    provider: Literal["prometheus"]
    url: str
    query: str
    refresh_interval: int | None = Field(default=None, ge=1)


MetricsSource = Annotated[CostMetricsSource | LatencyMetricsSource, Field(discriminator="type")]


class PromptCaching(StrictModel):
    """``prompt_caching``: keep a conversation on one provider so its prompt cache stays warm."""

    enabled: bool = False
    session_affinity: bool = True
    inject_cache_control: bool = True
    min_prefix_tokens: int = Field(default=1024, ge=1)
    session_ttl_seconds: int | None = Field(default=None, ge=1)
    """Default (filled in at load time): ``routing.session_ttl_seconds``."""
