"""``model_providers``, ``model_aliases``, ``routing_preferences`` and ``ratelimits``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator

from plano_asgi.config._base import HopTimeouts, StrictModel

__all__ = [
    "InlineRoutingPreference",
    "ModelAlias",
    "ModelProvider",
    "RateLimit",
    "RateLimitLimit",
    "RateLimitSelector",
    "RoutingPreference",
    "SelectionPolicy",
]


class InlineRoutingPreference(StrictModel):
    """``model_providers[].routing_preferences[]``: v0.3.0's inline form (deprecated by Plano).

    The loader lifts these into the top-level :attr:`PlanoConfig.routing_preferences`, as
    Plano's CLI does, so routers only ever read the top-level list.
    """

    name: str
    description: str


class SelectionPolicy(StrictModel):
    """``routing_preferences[].selection_policy``: how to order the candidate models."""

    prefer: Literal["cheapest", "fastest", "none"] | None = None
    """``cheapest`` needs a ``type: cost`` metrics source, ``fastest`` a ``type: latency`` one;
    ``none`` (or empty) keeps the declared order."""


class RoutingPreference(StrictModel):
    """``routing_preferences[]`` (top level, v0.4.0): a task category and its candidate models."""

    name: str
    description: str
    """What requests of this category look like; the routing model reads it."""
    models: tuple[str, ...] = Field(min_length=1)
    """Candidate models in order of preference, each a provider ``name`` or ``model``."""
    selection_policy: SelectionPolicy | None = None


class ModelProvider(StrictModel):
    """``model_providers[]`` (or the deprecated ``llm_providers[]``): one upstream model."""

    model: str
    """``provider/model_id`` (the id may contain ``/``) or the wildcard ``provider/*``."""
    name: str | None = None
    """Id listed in ``/v1/models`` and accepted as ``model``; default: the full ``model``."""
    access_key: str | None = None
    """The upstream credential, usually ``$SOME_API_KEY``."""
    default: bool = False
    """Serve requests that name no model (at most one provider, never a wildcard)."""
    base_url: str | None = None
    """``http(s)://host[:port][/path]``; a path replaces the provider's default prefix."""
    passthrough_auth: bool = False
    """Forward the client's credential instead of ``access_key``."""
    http_host: str | None = None
    """Host header / SNI override."""
    provider_interface: str | None = Field(
        default=None, validation_alias=AliasChoices("provider_interface", "provider")
    )
    """Wire API of a provider whose prefix is not a known one (legacy synonym: ``provider``)."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra upstream headers, applied after auth."""
    routing_preferences: tuple[InlineRoutingPreference, ...] = ()
    """Deprecated inline preferences, as declared (also lifted to the top-level list)."""
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
        """True for ``provider/*``, which serves any model of that provider."""
        return self.model_id == "*"

    @property
    def display_name(self) -> str:
        """The provider's ``name``, or its full model string."""
        return self.name or self.model

    @property
    def interface(self) -> str:
        """The wire API family: ``provider_interface`` or else the prefix."""
        return self.provider_interface or self.prefix


class ModelAlias(StrictModel):
    """``model_aliases.<alias>``: ``target`` is one model or, *ours*, an ordered fallback list."""

    target: str | tuple[str, ...]

    @field_validator("target", mode="before")
    @classmethod
    def _one_or_more_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ValueError("expected a model name (or, in plano-asgi, a list of model names)")

    @property
    def targets(self) -> tuple[str, ...]:
        """The target(s) as a tuple, first choice first."""
        return (self.target,) if isinstance(self.target, str) else self.target


class RateLimitSelector(StrictModel):
    """Which requests share a budget: those whose header ``key`` equals ``value``."""

    key: str
    value: str


class RateLimitLimit(StrictModel):
    """How many tokens per time unit."""

    tokens: int = Field(gt=0)
    unit: Literal["second", "minute", "hour", "day"]


class RateLimit(StrictModel):
    """``ratelimits[]``: input-token budget for a model, per value of a request header."""

    model: str
    selector: RateLimitSelector
    limit: RateLimitLimit
