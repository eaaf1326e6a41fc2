"""A model gateway's configuration, resolved: :class:`GatewaySetup` and its factory.

:meth:`GatewaySetup.from_config` turns a :class:`~plano_asgi.config.PlanoConfig` and the
caller's options into the objects the gateway serves with (the HTTP client, the
:class:`~plano_asgi.gateway.deps.GatewayDeps` every exchange shares, the ``/v1/models`` list)
and remembers what it created, so :meth:`GatewaySetup.aclose` closes exactly that. The
gateway itself (:class:`~plano_asgi.gateway.app.ModelGateway`) only serves a setup.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import httpx2
from opentelemetry.trace import Tracer

from plano_asgi.config import HopTimeouts, ModelListener, PlanoConfig, PlanoSettings
from plano_asgi.errors import ConfigError, ConfigIssue
from plano_asgi.filters.chain import FilterChain
from plano_asgi.gateway.deps import GatewayDeps
from plano_asgi.gateway.keys import key_variable, needs_key
from plano_asgi.gateway.preferences import PreferenceRouter
from plano_asgi.gateway.provider_client import ProviderCalls
from plano_asgi.gateway.providers import Endpoint, endpoint_for
from plano_asgi.gateway.ratelimit import RateLimiter, TokenLimiter
from plano_asgi.gateway.resolution import ModelResolver
from plano_asgi.gateway.retry import RetryPolicy
from plano_asgi.gateway.tls import upstream_ssl_context
from plano_asgi.outbound import AiohttpClient, HttpClient, as_http_client
from plano_asgi.redaction import Redactor, install_log_redaction
from plano_asgi.telemetry.metrics import PlanoMetrics
from plano_asgi.telemetry.stream_span import tracer as library_tracer

if TYPE_CHECKING:
    from plano_asgi.state import ConversationStore

__all__ = ["GatewayOptions", "GatewaySetup"]

logger = logging.getLogger("plano_asgi.gateway")

_DEFAULT_MAX_BODY = 16 * 1024 * 1024


class GatewayOptions(TypedDict, total=False):
    """What a gateway may be given instead of building it from the config.

    Taken by :meth:`GatewaySetup.from_config`, ``ModelGateway(config=..., ...)`` and
    :meth:`ModelGateway.from_config <plano_asgi.gateway.app.ModelGateway.from_config>`.
    """

    client: HttpClient | httpx2.AsyncClient | None
    """Every outbound call (providers, HTTP filters, the router's model); yours to close."""
    input_filters: FilterChain | None
    """Run on every request body before the provider call (default: the listener's ids)."""
    output_filters: FilterChain | None
    """Run on every response event, or the whole body (default: the listener's ids)."""
    retry: RetryPolicy | None
    """Retries and the failover budget (default: the listener's settings)."""
    limiter: TokenLimiter | None
    """The rate-limit store (default: Redis at ``PLANO_RATELIMIT_REDIS_URL``, else memory)."""
    tracer: Tracer | None
    """Where spans go (default: the library tracer of the global provider)."""
    metrics: PlanoMetrics | None
    """The metric set served on ``/metrics`` (default: the process-wide one)."""
    state: ConversationStore | None
    """The ``/v1/responses`` store (default: what ``state_storage`` describes)."""


@dataclass(slots=True)
class GatewaySetup:
    """What a :class:`~plano_asgi.gateway.app.ModelGateway` serves with, already resolved."""

    config: PlanoConfig
    deps: GatewayDeps
    """Shared by every exchange: clients, resolver, endpoints, timeouts, retry, limits..."""
    models: dict[str, Any]
    """The ``/v1/models`` body."""
    state: ConversationStore | None = None
    """The conversation store of ``/v1/responses`` (``None``: no ``state_storage``)."""
    owned: list[Any] = field(default_factory=list)
    """What the setup created and closes (clients, the Redis limiter, the filter registry,
    the state store)."""

    @classmethod
    def from_config(cls, config: PlanoConfig, **options: Unpack[GatewayOptions]) -> GatewaySetup:
        """Resolve ``config``'s model listener (or the one Plano adds when none is declared).

        ``options`` replace what the config would build (:class:`GatewayOptions`); what you
        pass stays yours to close.
        """
        client = options.get("client")
        input_filters = options.get("input_filters")
        output_filters = options.get("output_filters")
        state = options.get("state")
        tracer = options.get("tracer")
        listener = config.model_listener or config.implicit_model_listener
        install_log_redaction()
        owned: list[Any] = []
        client = _client(config, client, owned)
        registry = _FilterSource(config, client, owned)
        if listener is not None and input_filters is None and listener.input_filters:
            input_filters = registry.chain(listener.input_filters)
        if listener is not None and output_filters is None and listener.output_filters:
            output_filters = registry.chain(listener.output_filters)
        endpoints, timeouts = _providers(config, listener)
        resolver = ModelResolver(config)
        preferences = PreferenceRouter.from_config(config, client=client)
        if preferences.sessions is not None:
            owned.append(preferences.sessions)
        deps = GatewayDeps(
            client=client,
            provider_client=ProviderCalls(client),
            resolver=resolver,
            endpoints=endpoints,
            timeouts=timeouts,
            retry=_retry_policy(options.get("retry"), listener),
            limiter=RateLimiter(config.ratelimits, _limiter(config, options.get("limiter"), owned)),
            input_filters=input_filters or None,
            output_filters=output_filters or None,
            max_body_bytes=listener.max_body_bytes if listener else _DEFAULT_MAX_BODY,
            # Looked up once, not per request: a proxy until an SDK is installed, then the real one.
            tracer=tracer if tracer is not None else library_tracer(),
            listener=listener.name if listener else "llm",
            tracing=config.tracing,
            metrics=options.get("metrics"),
            filter_types={f.id: f.type for f in config.filters},
            preferences=preferences,
            redactor=Redactor(config.secrets),
        )
        models = [
            {"id": model, "object": "model", "created": 0, "owned_by": owner}
            for model, owner in resolver.listed()
        ]
        if state is None and config.state_storage is not None:
            # Imported only with state_storage: a gateway without it loads no store.
            from plano_asgi.state import store_from_config

            state = store_from_config(config.state_storage)
            owned.append(state)
        return cls(config, deps, {"object": "list", "data": models}, state, owned)

    async def aclose(self) -> None:
        """Close what :meth:`from_config` created, the last made first; once."""
        owned, self.owned = self.owned, []
        for resource in reversed(owned):
            await resource.aclose()


def _client(
    config: PlanoConfig, client: HttpClient | httpx2.AsyncClient | None, owned: list[Any]
) -> HttpClient:
    """The one client of provider calls, HTTP filters and the preference router's model.

    Yours when you pass one (an ``httpx2.AsyncClient`` is wrapped; you close it); else an
    :class:`~plano_asgi.outbound.AiohttpClient` trusting the CA bundle of
    :mod:`plano_asgi.gateway.tls`, closed by the setup.
    """
    if client is not None:
        return as_http_client(client)
    made = AiohttpClient(ssl_context=upstream_ssl_context(config))
    owned.append(made)
    return made


def _providers(
    config: PlanoConfig, listener: ModelListener | None
) -> tuple[dict[str, Endpoint | None], dict[str, HopTimeouts]]:
    """Each provider's endpoint and timeouts; warns about a provider that cannot work."""
    default_timeouts = (listener.timeouts if listener else None) or HopTimeouts(
        connect=config.overrides.upstream_connect_timeout
    )
    endpoints: dict[str, Endpoint | None] = {}
    timeouts: dict[str, HopTimeouts] = {}
    for provider in config.model_providers:
        name = provider.display_name
        endpoint = endpoints[name] = endpoint_for(provider)
        timeouts[name] = provider.timeouts or default_timeouts
        if endpoint is None:
            logger.warning("provider %s has no known endpoint; set its base_url", name)
        elif not (provider.access_key or provider.passthrough_auth) and needs_key(
            provider, endpoint
        ):
            logger.warning(
                "provider %s has no access_key (is %s set?); its requests fail with 401",
                name,
                key_variable(provider),
            )
    return endpoints, timeouts


def _retry_policy(retry: RetryPolicy | None, listener: ModelListener | None) -> RetryPolicy:
    """Yours, else the default; the listener's ``max_retries`` and ``failover_budget`` where
    the policy has none."""
    retry = retry or RetryPolicy()
    if retry.max_retries is None and listener is not None:
        retry = dataclasses.replace(retry, max_retries=listener.max_retries)
    if retry.failover_budget is None and listener is not None:
        retry = dataclasses.replace(retry, failover_budget=listener.failover_budget)
    return retry


def _limiter(
    config: PlanoConfig, limiter: TokenLimiter | None, owned: list[Any]
) -> TokenLimiter | None:
    """Yours, else Redis at ``PLANO_RATELIMIT_REDIS_URL`` when the config has limits, else
    ``None`` (per-process buckets)."""
    if limiter is not None or not config.ratelimits:
        return limiter
    redis_url = PlanoSettings().ratelimit_redis_url
    if not redis_url:
        return None
    from plano_asgi.gateway.ratelimit_redis import RedisTokenLimiter

    redis = RedisTokenLimiter.from_url(redis_url)
    owned.append(redis)
    return redis


class _FilterSource:
    """The model listener's filter chains by id, from a registry made on first use."""

    def __init__(self, config: PlanoConfig, client: HttpClient, owned: list[Any]):
        self._config = config
        self._client = client
        self._owned = owned
        self._registry: Any = None

    def chain(self, ids: tuple[str, ...]) -> FilterChain:
        if self._registry is None:
            try:
                from plano_asgi.filters.registry import FilterRegistry
            except ImportError as exc:  # the filters package is optional at this seam
                issue = ConfigIssue(
                    "listeners", f"model listener filters need plano_asgi.filters: {exc}"
                )
                raise ConfigError([issue]) from exc
            self._registry = FilterRegistry(self._config, client=self._client)
            self._owned.append(self._registry)
        chain: FilterChain = self._registry.chain(ids)
        return chain
