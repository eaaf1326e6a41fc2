"""Process knobs from the environment (``PLANO_*``), as opposed to the config file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["CONFIG_NAMES", "PlanoSettings", "find_config"]

#: Files looked for in the working directory when no config is named (Plano's order).
CONFIG_NAMES = ("config.yaml", "plano_config.yaml")


class PlanoSettings(BaseSettings):
    """Settings read from ``PLANO_*`` variables (and ``LLM_GATEWAY_ENDPOINT`` for agents).

    Use these for what differs per process or machine (where the config file is, how
    loud to log, where agents find the gateway); everything about routing lives in
    ``plano_config.yaml``. Keyword arguments override the environment.
    """

    model_config = SettingsConfigDict(
        env_prefix="PLANO_", extra="ignore", frozen=True, populate_by_name=True
    )

    config: str | None = None
    """Path of plano_config.yaml (``PLANO_CONFIG``)."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """``PLANO_LOG_LEVEL`` (any case)."""
    host: str | None = None
    """Bind address overriding the listeners' ``address`` (``PLANO_HOST``)."""
    gateway_url: str = Field(
        default="http://127.0.0.1:12000/v1",
        validation_alias=AliasChoices("PLANO_GATEWAY_URL", "LLM_GATEWAY_ENDPOINT"),
    )
    """Where agents reach the model gateway: ``PLANO_GATEWAY_URL``, else
    ``LLM_GATEWAY_ENDPOINT`` (the name Plano's demo agents read)."""
    otlp_endpoint: str | None = None
    """OTLP/HTTP endpoint for traces (``PLANO_OTLP_ENDPOINT``); the config and
    ``OTEL_EXPORTER_OTLP_*`` come next."""
    listener_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    """Where an agent served over HTTP reaches its listener's agent tools
    (``PLANO_LISTENER_URL``, e.g. ``http://127.0.0.1:8001``); in-process agents need none."""
    ratelimit_redis_url: str | None = None
    """Redis shared by every gateway process for ``ratelimits`` buckets
    (``PLANO_RATELIMIT_REDIS_URL``, e.g. ``redis://127.0.0.1:6379/0``); unset, each
    process keeps its own buckets. Needs the ``plano-asgi[redis]`` extra."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


def find_config(explicit: str | None, settings: PlanoSettings | None = None) -> Path | None:
    """The config file to use: ``explicit``, else ``PLANO_CONFIG``, else ``./config.yaml``,
    else ``./plano_config.yaml`` (as ``planoai up`` looks). None when there is none."""
    if explicit:
        return Path(explicit)
    configured = (settings or PlanoSettings()).config
    if configured:
        return Path(configured)
    for name in CONFIG_NAMES:
        candidate = Path(name)
        if candidate.is_file():
            return candidate
    return None
