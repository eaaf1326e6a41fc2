"""plano-asgi: Plano's agent routing, filter chains and model gateway as ASGI middleware.

Import what you need from here; the submodules are importable but are not the public API.
Importing this package has no side effects (no network, no logging setup, no model load).
"""

from __future__ import annotations

from plano_asgi.chat import ChatMessage, ChatRequest
from plano_asgi.config import PlanoConfig, PlanoSettings, load_config
from plano_asgi.errors import (
    ConfigError,
    ConfigIssue,
    FilterRejectedError,
    ModelNotFoundError,
    PayloadTooLargeError,
    PlanoError,
    RateLimitedError,
    RequestError,
    RoutingError,
    UpstreamError,
    UpstreamTimeoutError,
)
from plano_asgi.filters.base import Filter, FilterCall
from plano_asgi.routing.base import AgentCandidate, RouteDecision, Router
from plano_asgi.sse import ServerSentEvent, SSEDecoder, encode_event

__all__ = [
    "AgentCandidate",
    "ChatMessage",
    "ChatRequest",
    "ConfigError",
    "ConfigIssue",
    "Filter",
    "FilterCall",
    "FilterRejectedError",
    "ModelNotFoundError",
    "PayloadTooLargeError",
    "PlanoConfig",
    "PlanoError",
    "PlanoSettings",
    "RateLimitedError",
    "RequestError",
    "RouteDecision",
    "Router",
    "RoutingError",
    "SSEDecoder",
    "ServerSentEvent",
    "UpstreamError",
    "UpstreamTimeoutError",
    "encode_event",
    "load_config",
]
