"""The root :class:`PlanoConfig` model and the lookups the rest of the code reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from plano_asgi.config.models import (
    AgentDef,
    AgentListener,
    FilterDef,
    Listener,
    ModelAlias,
    ModelListener,
    ModelProvider,
    Overrides,
    RateLimit,
    RoutingPreference,
    StateStorage,
    Tracing,
)

__all__ = ["SUPPORTED_VERSIONS", "PlanoConfig"]

SUPPORTED_VERSIONS = ("v0.1", "v0.1.0", "0.1-beta", "0.2.0", "v0.3.0", "v0.4.0")


class PlanoConfig(BaseModel):
    """A validated, cross-checked ``plano_config.yaml``.

    Build one with :func:`plano_asgi.config.load_config` (from a file) or
    :meth:`from_dict`; both run every check at load time and raise
    :class:`~plano_asgi.errors.ConfigError` listing all problems.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    version: Literal["v0.1", "v0.1.0", "0.1-beta", "0.2.0", "v0.3.0", "v0.4.0"]
    agents: tuple[AgentDef, ...] = ()
    filters: tuple[FilterDef, ...] = ()
    listeners: tuple[Listener, ...] = ()
    endpoints: dict[str, dict[str, Any]] = Field(default_factory=dict)
    model_providers: tuple[ModelProvider, ...] = ()
    model_aliases: dict[str, ModelAlias] = Field(default_factory=dict)
    overrides: Overrides = Field(default_factory=Overrides)
    routing: dict[str, Any] | None = None
    routing_preferences: tuple[RoutingPreference, ...] = ()
    model_metrics_sources: tuple[dict[str, Any], ...] = ()
    prompt_caching: dict[str, Any] | None = None
    ratelimits: tuple[RateLimit, ...] = ()
    tracing: Tracing | None = None
    state_storage: StateStorage | None = None
    mode: Literal["llm", "prompt"] | None = None

    _source: Path | None = PrivateAttr(default=None)

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        *,
        env: dict[str, str] | None = None,
        allow_missing_env: bool = False,
    ) -> PlanoConfig:
        """Validate a config given as a dict (``$VAR`` from ``env``, default ``os.environ``)."""
        from plano_asgi.config.loader import load_config_data

        return load_config_data(data, env=env, allow_missing_env=allow_missing_env)

    @classmethod
    def from_yaml(
        cls, path: str | Path, *, env: dict[str, str] | None = None, allow_missing_env: bool = False
    ) -> PlanoConfig:
        """Load and validate a YAML file."""
        from plano_asgi.config.loader import load_config

        return load_config(path, env=env, allow_missing_env=allow_missing_env)

    @property
    def source(self) -> Path | None:
        """The file this config was loaded from, if any."""
        return self._source

    # -- lookups --------------------------------------------------------------------

    @property
    def agent_listeners(self) -> tuple[AgentListener, ...]:
        return tuple(lst for lst in self.listeners if isinstance(lst, AgentListener))

    @property
    def model_listener(self) -> ModelListener | None:
        for lst in self.listeners:
            if isinstance(lst, ModelListener):
                return lst
        return None

    def listener(self, name: str) -> AgentListener | ModelListener:
        """The listener called ``name`` (``KeyError`` naming the known ones otherwise)."""
        for lst in self.listeners:
            if lst.name == name:
                return lst
        known = ", ".join(lst.name for lst in self.listeners) or "none"
        raise KeyError(f"no listener named '{name}' (listeners: {known})")

    def agent_listener(self, name: str | None = None) -> AgentListener:
        """The agent listener called ``name``, or the only one when ``name`` is None."""
        listeners = self.agent_listeners
        if name is None:
            if len(listeners) != 1:
                names = ", ".join(lst.name for lst in listeners) or "none"
                raise KeyError(f"name the agent listener to serve (agent listeners: {names})")
            return listeners[0]
        found = self.listener(name)
        if not isinstance(found, AgentListener):
            raise KeyError(f"listener '{name}' is a {found.type} listener, not an agent listener")
        return found

    def agent(self, agent_id: str) -> AgentDef:
        for agent in self.agents:
            if agent.id == agent_id:
                return agent
        raise KeyError(agent_id)

    def filter(self, filter_id: str) -> FilterDef:
        """The filter ``filter_id``. An id of ``agents[]`` used in a chain acts as an MCP filter,
        as in Plano."""
        for flt in self.filters:
            if flt.id == filter_id:
                return flt
        for agent in self.agents:
            if agent.id == filter_id and agent.url is not None:
                return FilterDef(id=agent.id, url=agent.url, type="mcp")
        raise KeyError(filter_id)

    @property
    def default_provider(self) -> ModelProvider | None:
        for provider in self.model_providers:
            if provider.default:
                return provider
        return None

    @property
    def orchestrator_model(self) -> str | None:
        """The router model named by the overrides (``llm_routing_model`` wins, as in Plano)."""
        return self.overrides.agent_orchestration_model or self.overrides.llm_routing_model
