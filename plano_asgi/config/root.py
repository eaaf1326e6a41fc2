"""The root :class:`PlanoConfig` model and the lookups the rest of the code reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from plano_asgi.config.models import (
    AgentDef,
    AgentListener,
    CostMetricsSource,
    Endpoint,
    FilterDef,
    LatencyMetricsSource,
    Listener,
    MetricsSource,
    ModelAlias,
    ModelListener,
    ModelProvider,
    Overrides,
    PromptCaching,
    RateLimit,
    Routing,
    RoutingPreference,
    StateStorage,
    Tracing,
)
from plano_asgi.errors import ConfigIssue

__all__ = ["SUPPORTED_VERSIONS", "PlanoConfig"]

SUPPORTED_VERSIONS = ("v0.1", "v0.1.0", "0.1-beta", "0.2.0", "v0.3.0", "v0.4.0")
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key"})
_CREDENTIAL_SUFFIXES = ("-api-key", "-token", "-secret")


class PlanoConfig(BaseModel):
    """A validated, cross-checked ``plano_config.yaml``.

    Build one with :func:`plano_asgi.config.load_config` (from a file) or
    :meth:`from_dict`; both run every check at load time and raise
    :class:`~plano_asgi.errors.ConfigError` listing all problems.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    version: Literal["v0.1", "v0.1.0", "0.1-beta", "0.2.0", "v0.3.0", "v0.4.0"]
    """As written in the file (Plano's CLI rewrites old versions to v0.4.0; we keep yours)."""
    agents: tuple[AgentDef, ...] = ()
    filters: tuple[FilterDef, ...] = ()
    listeners: tuple[Listener, ...] = ()
    """Agent listeners and at most one model listener. The legacy object form
    (``egress_traffic``) arrives here converted into a model listener."""
    endpoints: dict[str, Endpoint] = Field(default_factory=dict)
    model_providers: tuple[ModelProvider, ...] = ()
    """Also filled from the deprecated ``llm_providers``."""
    model_aliases: dict[str, ModelAlias] = Field(default_factory=dict)
    overrides: Overrides = Field(default_factory=Overrides)
    routing: Routing = Field(default_factory=Routing)
    routing_preferences: tuple[RoutingPreference, ...] = ()
    """The effective list: your top-level entries, then the inline ``routing_preferences`` of
    providers lifted here as Plano's CLI does (same name merges models; yours win)."""
    model_metrics_sources: tuple[MetricsSource, ...] = ()
    prompt_caching: PromptCaching = Field(default_factory=PromptCaching)
    ratelimits: tuple[RateLimit, ...] = ()
    tracing: Tracing | None = None
    state_storage: StateStorage | None = None
    mode: Literal["llm", "prompt"] | None = None
    """Legacy; accepted and ignored."""

    _source: Path | None = PrivateAttr(default=None)
    _warnings: tuple[ConfigIssue, ...] = PrivateAttr(default=())

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

    @property
    def warnings(self) -> tuple[ConfigIssue, ...]:
        """Things that load but deserve a look (deprecated keys, ignored settings)."""
        return self._warnings

    # -- lookups --------------------------------------------------------------------

    @property
    def agent_listeners(self) -> tuple[AgentListener, ...]:
        """The ``type: agent`` listeners, in file order."""
        return tuple(lst for lst in self.listeners if isinstance(lst, AgentListener))

    @property
    def model_listener(self) -> ModelListener | None:
        """The ``type: model`` listener (there is at most one), if any."""
        for lst in self.listeners:
            if isinstance(lst, ModelListener):
                return lst
        return None

    @property
    def implicit_model_listener(self) -> ModelListener | None:
        """The model listener Plano would add: ``egress_traffic`` on 12000, or None.

        Plano always runs a model listener; when a config declares providers but no
        ``type: model`` listener, it serves them on port 12000 anyway (that is where
        Plano's demo agents send their LLM calls). ``plano-asgi serve`` does the same; this
        is None when a model listener is declared, there are no providers, or a declared
        listener already uses port 12000 or the name ``egress_traffic``.
        """
        if self.model_listener is not None or not self.model_providers:
            return None
        if any(lst.port == 12000 or lst.name == "egress_traffic" for lst in self.listeners):
            return None
        return ModelListener(type="model", name="egress_traffic", port=12000)

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
        """The entry of ``agents`` with this id (``KeyError`` otherwise)."""
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
    def secrets(self) -> tuple[str, ...]:
        """The credentials this config holds, to keep out of answers and logs.

        Every provider's ``access_key`` (as resolved from the environment) and the value
        of every credential among its ``headers`` (``authorization`` with its scheme
        stripped, ``x-api-key``, ``api-key``, names ending in ``-api-key``, ``-token`` or
        ``-secret``).
        """
        found: list[str] = []
        for provider in self.model_providers:
            if provider.access_key:
                found.append(provider.access_key)
            for name, value in provider.headers.items():
                name = name.lower()
                if name in _CREDENTIAL_HEADERS or name.endswith(_CREDENTIAL_SUFFIXES):
                    scheme, _, rest = value.partition(" ")
                    found.append(rest.strip() if rest and scheme.isalpha() else value)
        return tuple(dict.fromkeys(found))

    @property
    def default_provider(self) -> ModelProvider | None:
        """The provider marked ``default: true`` (at most one), if any."""
        for provider in self.model_providers:
            if provider.default:
                return provider
        return None

    @property
    def orchestrator_model(self) -> str | None:
        """The router model agent listeners use.

        ``agent_orchestration_model``, else ``llm_routing_model``. (Plano lets
        ``llm_routing_model`` override the agent router too; we keep the two apart.)
        """
        return self.overrides.agent_orchestration_model or self.overrides.llm_routing_model

    @property
    def cost_source(self) -> CostMetricsSource | None:
        """The ``type: cost`` entry of ``model_metrics_sources``, if any."""
        for source in self.model_metrics_sources:
            if isinstance(source, CostMetricsSource):
                return source
        return None

    @property
    def latency_source(self) -> LatencyMetricsSource | None:
        """The ``type: latency`` entry of ``model_metrics_sources``, if any."""
        for source in self.model_metrics_sources:
            if isinstance(source, LatencyMetricsSource):
                return source
        return None
