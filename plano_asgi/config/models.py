"""Pydantic models of ``plano_config.yaml``: field names equal the YAML keys.

This module holds agents, filters, listeners, endpoints, overrides and state storage, and
re-exports the models of the other blocks (:mod:`~plano_asgi.config.providers`,
:mod:`~plano_asgi.config.model_routing`, :mod:`~plano_asgi.config.telemetry`), so every config
model can be imported from here.

Every model is frozen. Where Plano's schema says ``additionalProperties: false`` the model
forbids unknown keys; where it is open (``overrides``) unknown keys are kept. Keys marked
*ours* are plano-asgi extensions; Plano configs never need them. Durations (``30s``,
``250ms``, ``5m`` or a number of seconds) become float seconds.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator

from plano_asgi.config._base import (
    Duration,
    HopTimeouts,
    OpenModel,
    StrictModel,
    parse_duration,
)
from plano_asgi.config.model_routing import (
    CostMetricsSource,
    LatencyMetricsSource,
    MetricsSource,
    PromptCaching,
    Routing,
    RoutingBudget,
    SessionCache,
)
from plano_asgi.config.providers import (
    InlineRoutingPreference,
    ModelAlias,
    ModelProvider,
    RateLimit,
    RateLimitLimit,
    RateLimitSelector,
    RoutingPreference,
    SelectionPolicy,
)
from plano_asgi.config.telemetry import PosthogExporter, SpanAttributes, Tracing

__all__ = [
    "AgentDef",
    "AgentListener",
    "AgentTools",
    "CostMetricsSource",
    "Duration",
    "Endpoint",
    "FilterDef",
    "HopTimeouts",
    "InlineRoutingPreference",
    "LatencyMetricsSource",
    "Listener",
    "ListenerAgent",
    "MetricsSource",
    "ModelAlias",
    "ModelListener",
    "ModelProvider",
    "Overrides",
    "PosthogExporter",
    "PromptCaching",
    "RateLimit",
    "RateLimitLimit",
    "RateLimitSelector",
    "Routing",
    "RoutingBudget",
    "RoutingPreference",
    "SelectionPolicy",
    "SessionCache",
    "SpanAttributes",
    "StateStorage",
    "Tracing",
    "parse_duration",
]


class AgentDef(StrictModel):
    """``agents[]``: where an agent lives."""

    id: str
    url: str | None = None
    """``scheme://host[:port]``; the agent is called at ``/v1/chat/completions`` on it."""
    app: str | None = None
    """*Ours*: ``"package.module:attribute"`` of an ASGI app served in-process (no network)."""
    timeouts: HopTimeouts | None = None
    """*Ours*: per-agent timeouts; default: the listener's."""
    api: Literal["chat_completions", "responses", "messages"] = "chat_completions"
    """*Ours*: the API the agent speaks (called at ``/v1/chat/completions``,
    ``/v1/responses`` or ``/v1/messages``); the listener translates to it and back."""


class FilterDef(StrictModel):
    """``filters[]``: an HTTP or MCP filter service."""

    id: str
    url: str
    type: Literal["mcp", "http"] = "mcp"
    """Plano's default is ``mcp`` when ``type`` is missing."""
    transport: Literal["streamable-http"] = "streamable-http"
    tool: str | None = None
    """MCP tool to call; default: the filter id."""
    timeout: Duration | None = None
    """*Ours*: whole-call timeout for this filter, default 30s."""
    on_error: Literal["fail", "allow"] = "fail"
    """*Ours*: ``allow`` lets requests pass when the filter itself fails (never on rejections)."""


class ListenerAgent(StrictModel):
    """``listeners[].agents[]``: an agent as this listener offers it to the router."""

    id: str
    description: str
    """What this agent handles; the router reads it."""
    default: bool = False
    """The agent to use when routing finds nothing better (at most one per listener)."""
    input_filters: tuple[str, ...] = Field(
        default=(), validation_alias=AliasChoices("input_filters", "filter_chain")
    )
    """Filter ids run before this agent's call (Plano's older docs call this ``filter_chain``)."""


_TOOLS_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")


class AgentTools(StrictModel):
    """*Ours*: ``listeners[].agent_tools``: the listener's agents as MCP tools.

    On by default: the tools reach the same agents, through the same filters and header
    policy, on the same port as ``/v1/chat/completions``, so they open nothing new.
    """

    enabled: bool = True
    """Serve the MCP endpoint (``false``: the path is left to the wrapped app, or 404)."""
    path: str = "/mcp"
    """Where the streamable-HTTP endpoint is, relative to where the listener is mounted."""
    agents: tuple[str, ...] | None = None
    """Agent ids offered as tools; default: every agent of the listener."""

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not _TOOLS_PATH.fullmatch(value):
            raise ValueError(
                f"'{value}' is not a path like /mcp (a leading '/', then letters, digits "
                "and . _ ~ - /)"
            )
        return value


class AgentListener(StrictModel):
    """A ``type: agent`` listener: routes each turn to agents."""

    type: Literal["agent"]
    name: str
    port: int | None = Field(default=None, ge=0, le=65535)
    """Needed to ``serve`` the listener; not when you mount :class:`PlanoMiddleware` yourself."""
    address: str | None = None
    """Bind address for ``plano-asgi serve``. Unset: ``127.0.0.1`` (ours; Plano binds
    ``0.0.0.0``): say ``0.0.0.0``, or ``--host``/``PLANO_HOST``, to accept other hosts."""
    timeout: Duration = 30.0
    """Time to the first byte of the answer: routing, filters, earlier agents and the
    answering agent's headers together (504 naming the hop in progress). Plano applies it
    to the whole response; streams are bounded by ``timeouts.idle``/``total`` instead."""
    off_topic_reply: str | None = None
    """*Ours*: what the listener answers itself when the router finds no agent for a turn and
    no agent is ``default: true`` (with a default agent, that agent gets the turn, as in
    Plano). Default: what each agent can help with, from the agents' descriptions."""
    answers: Literal["all", "last"] = "all"
    """*Ours*: in a turn routed to several agents, ``all`` streams every agent's answer in
    order (each chunk marked with ``"agent"``); ``last`` is Plano's behaviour, where only
    the last agent answers and sees the earlier answers as named assistant messages."""
    router: Literal["plano_orchestrator_v1", "local_v1", "hybrid_v1"] | None = None
    """``plano_orchestrator_v1`` (Plano's router model), or *ours*: ``local_v1`` (the embedded
    offline router) and ``hybrid_v1`` (local first, router model when unsure). Default:
    ``hybrid_v1`` when an orchestrator model is configured, else ``local_v1``."""
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
    agent_tools: AgentTools = AgentTools()
    """*Ours*: the agents as MCP tools at ``/mcp`` (see :class:`AgentTools`)."""


class ModelListener(StrictModel):
    """The ``type: model`` listener: the model gateway (at most one per config)."""

    type: Literal["model"]
    name: str
    port: int = Field(default=12000, ge=0, le=65535)
    address: str | None = None
    """Bind address for ``plano-asgi serve``. Unset: ``127.0.0.1`` (ours; Plano binds
    ``0.0.0.0``): say ``0.0.0.0``, or ``--host``/``PLANO_HOST``, to accept other hosts."""
    timeout: Duration = 300.0
    max_retries: int | None = Field(default=None, ge=0)
    """Retries of a failed provider call (same model)."""
    failover_budget: Duration | None = Field(default=None, gt=0)
    """*Ours*: seconds until the answer starts, across every retry and fallback (default
    30 s for streams; a non-streaming answer gets at least its ``timeouts.first_byte``).
    When it runs out the client gets 504 naming the last provider tried."""
    input_filters: tuple[str, ...] = ()
    output_filters: tuple[str, ...] = ()
    timeouts: HopTimeouts | None = None
    """*Ours*: provider-call timeouts."""
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    """*Ours*: largest request body accepted (413 beyond)."""


Listener = Annotated[AgentListener | ModelListener, Field(discriminator="type")]


class Endpoint(StrictModel):
    """``endpoints.<name>``: a named upstream (Plano uses these for prompt targets)."""

    endpoint: str
    """``host[:port]``."""
    connect_timeout: Duration | None = None
    protocol: Literal["http", "https"] = "http"
    http_host: str | None = None
    prefix_affinity: bool = False


class Overrides(OpenModel):
    """``overrides``: open in Plano's schema, so unknown keys are kept, not rejected."""

    agent_orchestration_model: str | None = None
    """Router model of agent listeners (``plano_orchestrator_v1``/``hybrid_v1``)."""
    llm_routing_model: str | None = None
    """Router model of preference-based model routing."""
    orchestrator_model_context_length: int = Field(default=8192, gt=0)
    disable_signals: bool = False
    upstream_connect_timeout: Duration = 5.0
    upstream_tls_ca_path: str | None = None
    use_agent_orchestrator: bool = False
    """Legacy prompt-gateway mode; accepted and ignored."""
    prompt_target_intent_matching_threshold: float | None = None
    """Legacy prompt-gateway setting; accepted and ignored."""
    optimize_context_window: bool | None = None
    """Legacy prompt-gateway setting; accepted and ignored."""
    orchestrator_timeout: Duration = 10.0
    """*Ours*: timeout of one router-model call; on expiry the listener falls back."""
    orchestrator_prompt_path: str | None = None
    """*Ours*: file with a custom routing prompt template (``{routes}``, ``{conversation}``)."""
    local_router_threshold: float | None = None
    """*Ours*: confidence under which ``hybrid_v1`` asks the orchestrator model."""


class StateStorage(StrictModel):
    """``state_storage``: where ``/v1/responses`` conversation state lives."""

    type: Literal["memory", "postgres", "redis"]
    """``redis`` is *ours*: shared by every process that points at the same Redis."""
    connection_string: str | None = None
    """Required for ``postgres`` and ``redis``; ``$VAR`` substitution applies as everywhere."""
    max_entries: int = Field(default=10_000, ge=1)
    """*Ours*, ``memory`` only: responses kept; past it the least recently used goes first."""
    ttl: Duration = 86_400.0
    """*Ours*, ``memory`` and ``redis``: how long a response is kept after it was stored
    (24 h)."""
