"""plano-asgi: Plano's agent routing, filter chains and model gateway as ASGI middleware.

Import what you need from here; the submodules are importable but are not the public API.
Importing this package has no side effects (no network, no logging setup, no model load).
"""

from __future__ import annotations

import typing

from plano_asgi import _lazy

if typing.TYPE_CHECKING:
    from plano_asgi.chat import ChatMessage, ChatRequest
    from plano_asgi.config import PlanoConfig, PlanoSettings, load_config
    from plano_asgi.errors import (
        ConfigError,
        ConfigIssue,
        FilterRejectedError,
        MissingExtraError,
        ModelNotFoundError,
        OutboundBodyTooLargeError,
        OutboundConnectError,
        OutboundError,
        OutboundProtocolError,
        OutboundReadError,
        OutboundRequestError,
        PayloadTooLargeError,
        PlanoError,
        PreviousResponseNotFoundError,
        RateLimitedError,
        RequestError,
        RoutingDataError,
        RoutingError,
        StateStoreError,
        UpstreamError,
        UpstreamTimeoutError,
    )
    from plano_asgi.filters.base import Filter, FilterCall
    from plano_asgi.filters.chain import FilterChain
    from plano_asgi.filters.http import HttpFilter
    from plano_asgi.filters.registry import FilterRegistry
    from plano_asgi.gateway.app import ModelGateway
    from plano_asgi.gateway.ratelimit import MemoryTokenLimiter, TokenLimiter
    from plano_asgi.gateway.ratelimit_redis import RedisTokenLimiter
    from plano_asgi.gateway.retry import RetryPolicy
    from plano_asgi.middleware import PlanoMiddleware
    from plano_asgi.routing.base import AgentCandidate, RouteDecision, Router
    from plano_asgi.routing.hybrid import HybridRouter
    from plano_asgi.routing.orchestrator import OrchestratorRouter
    from plano_asgi.sse import ServerSentEvent, SSEDecoder, encode_event
    from plano_asgi.state import ConversationStore, StoredResponse
    from plano_asgi.state.memory import MemoryStore
    from plano_asgi.telemetry import (
        MetricsApp,
        PlanoMetrics,
        configure_logging,
        get_metrics,
        setup_tracing,
    )
    from plano_asgi.telemetry.propagation import extract_context, inject_headers

__all__ = [
    "AgentCandidate",
    "ChatMessage",
    "ChatRequest",
    "ConfigError",
    "ConfigIssue",
    "ConversationStore",
    "Filter",
    "FilterCall",
    "FilterChain",
    "FilterRegistry",
    "FilterRejectedError",
    "HttpFilter",
    "HybridRouter",
    "MemoryStore",
    "MemoryTokenLimiter",
    "MetricsApp",
    "MissingExtraError",
    "ModelGateway",
    "ModelNotFoundError",
    "OrchestratorRouter",
    "OutboundBodyTooLargeError",
    "OutboundConnectError",
    "OutboundError",
    "OutboundProtocolError",
    "OutboundReadError",
    "OutboundRequestError",
    "PayloadTooLargeError",
    "PlanoConfig",
    "PlanoError",
    "PlanoMetrics",
    "PlanoMiddleware",
    "PlanoSettings",
    "PreviousResponseNotFoundError",
    "RateLimitedError",
    "RedisTokenLimiter",
    "RequestError",
    "RetryPolicy",
    "RouteDecision",
    "Router",
    "RoutingDataError",
    "RoutingError",
    "SSEDecoder",
    "ServerSentEvent",
    "StateStoreError",
    "StoredResponse",
    "TokenLimiter",
    "UpstreamError",
    "UpstreamTimeoutError",
    "configure_logging",
    "encode_event",
    "extract_context",
    "get_metrics",
    "inject_headers",
    "load_config",
    "setup_tracing",
]

__getattr__, __dir__ = _lazy.lazy_exports(
    __name__,
    {
        "AgentCandidate": "plano_asgi.routing.base",
        "ChatMessage": "plano_asgi.chat",
        "ChatRequest": "plano_asgi.chat",
        "ConfigError": "plano_asgi.errors",
        "ConfigIssue": "plano_asgi.errors",
        "ConversationStore": "plano_asgi.state",
        "Filter": "plano_asgi.filters.base",
        "FilterCall": "plano_asgi.filters.base",
        "FilterChain": "plano_asgi.filters.chain",
        "FilterRegistry": "plano_asgi.filters.registry",
        "FilterRejectedError": "plano_asgi.errors",
        "HttpFilter": "plano_asgi.filters.http",
        "HybridRouter": "plano_asgi.routing.hybrid",
        "MemoryStore": "plano_asgi.state.memory",
        "MemoryTokenLimiter": "plano_asgi.gateway.ratelimit",
        "MetricsApp": "plano_asgi.telemetry",
        "MissingExtraError": "plano_asgi.errors",
        "ModelGateway": "plano_asgi.gateway.app",
        "ModelNotFoundError": "plano_asgi.errors",
        "OrchestratorRouter": "plano_asgi.routing.orchestrator",
        "OutboundBodyTooLargeError": "plano_asgi.errors",
        "OutboundConnectError": "plano_asgi.errors",
        "OutboundError": "plano_asgi.errors",
        "OutboundProtocolError": "plano_asgi.errors",
        "OutboundReadError": "plano_asgi.errors",
        "OutboundRequestError": "plano_asgi.errors",
        "PayloadTooLargeError": "plano_asgi.errors",
        "PlanoConfig": "plano_asgi.config",
        "PlanoError": "plano_asgi.errors",
        "PlanoMetrics": "plano_asgi.telemetry",
        "PlanoMiddleware": "plano_asgi.middleware",
        "PlanoSettings": "plano_asgi.config",
        "PreviousResponseNotFoundError": "plano_asgi.errors",
        "RateLimitedError": "plano_asgi.errors",
        "RedisTokenLimiter": "plano_asgi.gateway.ratelimit_redis",
        "RequestError": "plano_asgi.errors",
        "RetryPolicy": "plano_asgi.gateway.retry",
        "RouteDecision": "plano_asgi.routing.base",
        "Router": "plano_asgi.routing.base",
        "RoutingDataError": "plano_asgi.errors",
        "RoutingError": "plano_asgi.errors",
        "SSEDecoder": "plano_asgi.sse",
        "ServerSentEvent": "plano_asgi.sse",
        "StateStoreError": "plano_asgi.errors",
        "StoredResponse": "plano_asgi.state",
        "TokenLimiter": "plano_asgi.gateway.ratelimit",
        "UpstreamError": "plano_asgi.errors",
        "UpstreamTimeoutError": "plano_asgi.errors",
        "configure_logging": "plano_asgi.telemetry",
        "encode_event": "plano_asgi.sse",
        "extract_context": "plano_asgi.telemetry.propagation",
        "get_metrics": "plano_asgi.telemetry",
        "inject_headers": "plano_asgi.telemetry.propagation",
        "load_config": "plano_asgi.config",
        "setup_tracing": "plano_asgi.telemetry",
    },
)
