"""Pydantic models of ``plano_config.yaml`` (v0.3.0 / v0.4.0), field names equal to the YAML keys.

Every model is frozen and forbids unknown keys, like Plano's schema
(``additionalProperties: false``). Keys marked *ours* are plano-asgi extensions; Plano
configs never need them. Durations (Envoy style: ``30s``, ``250ms``, ``5m``, or a number of
seconds) are parsed into float seconds.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "AgentDef",
    "AgentListener",
    "Duration",
    "FilterDef",
    "HopTimeouts",
    "Listener",
    "ListenerAgent",
    "ModelAlias",
    "ModelListener",
    "ModelProvider",
    "Overrides",
    "RateLimit",
    "RateLimitLimit",
    "RateLimitSelector",
    "RoutingPreference",
    "SpanAttributes",
    "StateStorage",
    "Tracing",
    "parse_duration",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> Any:
    """``"30s"`` -> 30.0, ``"250ms"`` -> 0.25, ``"5m"`` -> 300.0, ``12`` -> 12.0."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '30s', '250ms' or a number of seconds")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(
                f"'{value}' is not a duration; use e.g. '30s', '250ms', '5m' or a number of seconds"
            )
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class HopTimeouts(_Model):
    """Timeouts of one upstream hop, in seconds (*ours*)."""

    connect: Duration = 5.0
    """Time to establish the TCP/TLS connection."""
    first_byte: Duration = 60.0
    """Time from sending the request to the response headers and first body bytes."""
    idle: Duration = 60.0
    """Longest silence allowed between two chunks of a streamed response."""


class AgentDef(_Model):
    """``agents[]``: where an agent lives."""

    id: str
    url: str | None = None
    """``scheme://host[:port]``; the agent is called at ``/v1/chat/completions`` on it."""
    app: str | None = None
    """*Ours*: ``"package.module:attribute"`` of an ASGI app served in-process (no network)."""
    timeouts: HopTimeouts | None = None
    """*Ours*: per-agent timeouts; default: the listener's."""


class FilterDef(_Model):
    """``filters[]``: an HTTP or MCP filter service."""

    id: str
    url: str
    type: Literal["mcp", "http"] = "mcp"
    transport: Literal["streamable-http"] = "streamable-http"
    tool: str | None = None
    """MCP tool to call; default: the filter id."""
    timeout: Duration | None = None
    """*Ours*: whole-call timeout for this filter, default 30s."""
    on_error: Literal["fail", "allow"] = "fail"
    """*Ours*: ``allow`` lets requests pass when the filter itself fails (never on rejections)."""


class ListenerAgent(_Model):
    """``listeners[].agents[]``: an agent as this listener offers it to the router."""

    id: str
    description: str
    default: bool = False
    input_filters: tuple[str, ...] = Field(
        default=(), validation_alias=AliasChoices("input_filters", "filter_chain")
    )
    """Filter ids run before this agent's call (Plano's docs call this key ``filter_chain``)."""


class AgentListener(_Model):
    """A ``type: agent`` listener: routes each turn to agents."""

    type: Literal["agent"]
    name: str
    port: int | None = Field(default=None, ge=0, le=65535)
    address: str = "0.0.0.0"
    timeout: Duration = 30.0
    """Plano's whole-response timeout. We apply it per hop instead (see ``timeouts``)."""
    router: (
        Literal["plano_orchestrator_v1", "local_v1", "hybrid_v1", "plano_agent_router"] | None
    ) = None
    """Default: ``hybrid_v1`` when an orchestrator model is configured, else ``local_v1``."""
    agents: tuple[ListenerAgent, ...] = ()
    input_filters: tuple[str, ...] = ()
    """Filter ids run on every request before routing (*Plano accepts but never runs these*)."""
    output_filters: tuple[str, ...] = ()
    timeouts: HopTimeouts | None = None
    """*Ours*: default timeouts for agent calls on this listener."""
    forward_headers: tuple[str, ...] = ()
    """*Ours*: client credential headers (e.g. ``authorization``) that may reach agents."""
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    """*Ours*: largest request body accepted (413 beyond)."""


class ModelListener(_Model):
    """The ``type: model`` listener: the model gateway."""

    type: Literal["model"]
    name: str
    port: int = Field(default=12000, ge=0, le=65535)
    address: str = "0.0.0.0"
    timeout: Duration = 300.0
    max_retries: int | None = Field(default=None, ge=0)
    input_filters: tuple[str, ...] = ()
    output_filters: tuple[str, ...] = ()
    timeouts: HopTimeouts | None = None
    """*Ours*: provider-call timeouts."""
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)


Listener = Annotated[AgentListener | ModelListener, Field(discriminator="type")]


class RoutingPreference(_Model):
    """A routing preference (inline on a provider in v0.3.0, top-level in v0.4.0)."""

    name: str
    description: str
    models: tuple[str, ...] = ()
    selection_policy: dict[str, Any] | None = None


class ModelProvider(_Model):
    """``model_providers[]`` (or the deprecated ``llm_providers[]``)."""

    model: str
    """``provider/model_id`` or ``provider/*``."""
    name: str | None = None
    access_key: str | None = None
    default: bool = False
    base_url: str | None = None
    passthrough_auth: bool = False
    http_host: str | None = None
    provider_interface: str | None = Field(
        default=None, validation_alias=AliasChoices("provider_interface", "provider")
    )
    headers: dict[str, str] = Field(default_factory=dict)
    routing_preferences: tuple[RoutingPreference, ...] = ()
    timeouts: HopTimeouts | None = None
    """*Ours*: per-provider timeouts."""

    @property
    def prefix(self) -> str:
        """The provider prefix: ``openai`` in ``openai/gpt-4o``."""
        return self.model.split("/", 1)[0]

    @property
    def model_id(self) -> str:
        """The model id sent upstream: ``gpt-4o`` in ``openai/gpt-4o`` (may contain ``/``)."""
        return self.model.split("/", 1)[1] if "/" in self.model else self.model

    @property
    def is_wildcard(self) -> bool:
        return self.model_id == "*"

    @property
    def display_name(self) -> str:
        """The provider's ``name``, or its full model string."""
        return self.name or self.model

    @property
    def interface(self) -> str:
        """The wire API family: ``provider_interface`` or else the prefix."""
        return self.provider_interface or self.prefix


class ModelAlias(_Model):
    """``model_aliases.<alias>``: ``target`` is one model or, *ours*, an ordered fallback list."""

    target: str | tuple[str, ...]

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.target,) if isinstance(self.target, str) else self.target


class Overrides(_Model):
    """``overrides``: open in Plano's schema, so unknown keys are kept, not rejected."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    agent_orchestration_model: str | None = None
    llm_routing_model: str | None = None
    orchestrator_model_context_length: int = Field(default=8192, gt=0)
    disable_signals: bool = False
    upstream_connect_timeout: Duration = 5.0
    upstream_tls_ca_path: str | None = None
    use_agent_orchestrator: bool = False
    prompt_target_intent_matching_threshold: float | None = None
    optimize_context_window: bool | None = None
    orchestrator_timeout: Duration = 10.0
    """*Ours*: timeout of one router-model call; on expiry the listener falls back."""
    orchestrator_prompt_path: str | None = None
    """*Ours*: file with a custom routing prompt template (``{routes}``, ``{conversation}``)."""
    local_router_threshold: float | None = None
    """*Ours*: confidence under which ``hybrid_v1`` asks the orchestrator model."""


class RateLimitSelector(_Model):
    key: str
    value: str


class RateLimitLimit(_Model):
    tokens: int = Field(gt=0)
    unit: Literal["second", "minute", "hour", "day"]


class RateLimit(_Model):
    """``ratelimits[]``: input-token budget for a model, per value of a request header."""

    model: str
    selector: RateLimitSelector
    limit: RateLimitLimit


class SpanAttributes(_Model):
    header_prefixes: tuple[str, ...] = ()
    static: dict[str, str] = Field(default_factory=dict)


class Tracing(_Model):
    """``tracing``."""

    random_sampling: int = Field(default=0, ge=0, le=100)
    trace_arch_internal: bool = False
    opentracing_grpc_endpoint: str | None = None
    span_attributes: SpanAttributes | None = None
    exporters: tuple[dict[str, Any], ...] = ()
    otlp_endpoint: str | None = None
    """*Ours*: OTLP/HTTP endpoint (``http://host:4318``)."""
    service_name: str | None = None
    """*Ours*: the ``service.name`` resource attribute (default ``plano-asgi``)."""


class StateStorage(_Model):
    type: Literal["memory", "postgres", "redis"]
    connection_string: str | None = None
