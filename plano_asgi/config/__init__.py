"""Plano's ``plano_config.yaml``, loaded into frozen pydantic models and checked once, up front."""

from __future__ import annotations

from plano_asgi.config.loader import format_path, load_config, load_config_data
from plano_asgi.config.models import (
    AgentDef,
    AgentListener,
    Duration,
    FilterDef,
    HopTimeouts,
    ListenerAgent,
    ModelAlias,
    ModelListener,
    ModelProvider,
    Overrides,
    RateLimit,
    Tracing,
    parse_duration,
)
from plano_asgi.config.root import SUPPORTED_VERSIONS, PlanoConfig
from plano_asgi.config.settings import PlanoSettings

__all__ = [
    "SUPPORTED_VERSIONS",
    "AgentDef",
    "AgentListener",
    "Duration",
    "FilterDef",
    "HopTimeouts",
    "ListenerAgent",
    "ModelAlias",
    "ModelListener",
    "ModelProvider",
    "Overrides",
    "PlanoConfig",
    "PlanoSettings",
    "RateLimit",
    "Tracing",
    "format_path",
    "load_config",
    "load_config_data",
    "parse_duration",
]
