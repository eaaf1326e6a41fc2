"""Process knobs from the environment (``PLANO_*``), as opposed to the config file."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PlanoSettings"]


class PlanoSettings(BaseSettings):
    """Settings read from ``PLANO_*`` variables (and ``LLM_GATEWAY_ENDPOINT`` for agents)."""

    model_config = SettingsConfigDict(env_prefix="PLANO_", extra="ignore", frozen=True)

    config: str | None = None
    """Path of plano_config.yaml (``PLANO_CONFIG``)."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    host: str | None = None
    """Bind address overriding the listeners' ``address`` (``PLANO_HOST``)."""
    gateway_url: str = Field(
        default="http://127.0.0.1:12000/v1",
        validation_alias=AliasChoices("PLANO_GATEWAY_URL", "LLM_GATEWAY_ENDPOINT"),
    )
    """Where agents reach the model gateway (``LLM_GATEWAY_ENDPOINT`` as in Plano's demos)."""
    otlp_endpoint: str | None = None
    """OTLP/HTTP endpoint for traces; the config and ``OTEL_EXPORTER_OTLP_*`` come next."""
