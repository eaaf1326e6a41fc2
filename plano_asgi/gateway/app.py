"""The model gateway as a pure ASGI app: one OpenAI-compatible endpoint for every provider.

Endpoints, relative to where the gateway is mounted:

* ``POST /v1/chat/completions``: OpenAI Chat Completions, streaming or not;
* ``POST /v1/messages``: Anthropic Messages, streaming or not;
* ``POST /v1/responses``: OpenAI Responses, streaming or not, on the chat path, with
  conversation state (``previous_response_id``) when ``state_storage`` is configured;
* ``POST /routing/v1/chat/completions``, ``/routing/v1/messages``, ``/routing/v1/responses``:
  which model would serve the request, without calling it (:mod:`.decision`);
* ``GET /v1/models``: the models a client may ask for, sorted;
* ``GET /healthz``: 200 while the process is up;
* ``GET /metrics``: Prometheus text for every listener of the process.

Anything else goes to the wrapped ``app`` untouched, or gets a 404 without one.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import httpx2
from opentelemetry.trace import Tracer
from starlette.types import ASGIApp, Receive, Scope, Send

from plano_asgi._asgi import route_path, send_json
from plano_asgi._lifecycle import AsyncCloseable, close_after_shutdown, serve_lifespan
from plano_asgi.config import HopTimeouts, PlanoConfig, PlanoSettings
from plano_asgi.errors import ConfigError, ConfigIssue, RequestError, error_body
from plano_asgi.filters.chain import FilterChain
from plano_asgi.gateway.decision import DECISION_ROUTES, serve_decision
from plano_asgi.gateway.exchange import Exchange, GatewayDeps
from plano_asgi.gateway.keys import key_variable, needs_key
from plano_asgi.gateway.preferences import PreferenceRouter
from plano_asgi.gateway.provider_client import (
    AiohttpProviderClient,
    HttpxProviderClient,
    ProviderClient,
)
from plano_asgi.gateway.providers import endpoint_for
from plano_asgi.gateway.ratelimit import RateLimiter, TokenLimiter
from plano_asgi.gateway.resolution import ModelResolver
from plano_asgi.gateway.retry import RetryPolicy
from plano_asgi.gateway.tls import upstream_ssl_context
from plano_asgi.outbound import outbound_client
from plano_asgi.telemetry.metrics import PlanoMetrics, serve_metrics

if TYPE_CHECKING:
    from plano_asgi.responses import ResponsesEndpoint
    from plano_asgi.state import ConversationStore

__all__ = ["ModelGateway"]

logger = logging.getLogger("plano_asgi.gateway")

_ROUTES = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}


class ModelGateway(AsyncCloseable):
    """Serve the ``type: model`` listener of a config: resolution, failover, translation.

    Use it on its own (``uvicorn.run(ModelGateway(config=config))``), mounted under a prefix,
    or wrapped around your app (``ModelGateway(app, config=config)``). Provider calls go
    through the gateway's keep-alive client
    (:class:`~plano_asgi.gateway.provider_client.AiohttpProviderClient`), HTTP filters
    through an ``httpx2`` client (:func:`plano_asgi.outbound.outbound_client`); both honour
    ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` and trust
    ``overrides.upstream_tls_ca_path``, else ``SSL_CERT_FILE``, else the system's CAs (see
    :mod:`plano_asgi.gateway.tls`). Pass ``client`` to send both through your
    ``httpx2.AsyncClient`` instead (you close it; it keeps its own ``verify``, proxies and
    transport). Close the gateway with :meth:`aclose` or ``async with``. Served alone, it
    handles the ASGI lifespan itself; around your app, it closes itself once your app has
    answered the lifespan shutdown.

    ``input_filters`` run on every request body before the provider call; ``output_filters``
    on every response event (or the whole body when not streaming). Without them, the
    listener's ``input_filters``/``output_filters`` ids are built from the config.
    ``retry`` and ``limiter`` replace the retry policy and the rate-limit store (default:
    Redis at ``PLANO_RATELIMIT_REDIS_URL`` when set and the config has ``ratelimits``, else
    per-process buckets); ``tracer`` the OpenTelemetry tracer (default: the library tracer
    from the global provider);
    ``metrics`` the metric set served on ``/metrics`` (default: the process-wide one);
    ``state`` the conversation store of ``/v1/responses`` (default: the one
    ``state_storage`` describes, closed with the gateway; none without it).
    """

    def __init__(
        self,
        app: ASGIApp | None = None,
        /,
        *,
        config: PlanoConfig,
        client: httpx2.AsyncClient | None = None,
        input_filters: FilterChain | None = None,
        output_filters: FilterChain | None = None,
        retry: RetryPolicy | None = None,
        limiter: TokenLimiter | None = None,
        tracer: Tracer | None = None,
        metrics: PlanoMetrics | None = None,
        state: ConversationStore | None = None,
    ) -> None:
        self.app = app
        self.config = config
        # Served without a declared model listener, the gateway is the one Plano adds.
        listener = config.model_listener or config.implicit_model_listener
        self._owns_client = client is None
        self._provider_client: ProviderClient
        if client is None:
            context = upstream_ssl_context(config)
            client = outbound_client(verify=context)
            self._provider_client = AiohttpProviderClient(ssl_context=context)
        else:
            self._provider_client = HttpxProviderClient(client)
        self._client = client
        self._registry: Any = None
        if listener is not None and input_filters is None and listener.input_filters:
            input_filters = self._filters_from_config(listener.input_filters)
        if listener is not None and output_filters is None and listener.output_filters:
            output_filters = self._filters_from_config(listener.output_filters)
        default_timeouts = (listener.timeouts if listener else None) or HopTimeouts(
            connect=config.overrides.upstream_connect_timeout
        )
        endpoints = {}
        timeouts = {}
        for provider in config.model_providers:
            name = provider.display_name
            endpoints[name] = endpoint_for(provider)
            timeouts[name] = provider.timeouts or default_timeouts
            endpoint = endpoints[name]
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
        retry = retry or RetryPolicy()
        if retry.max_retries is None and listener is not None:
            retry = dataclasses.replace(retry, max_retries=listener.max_retries)
        if retry.failover_budget is None and listener is not None:
            retry = dataclasses.replace(retry, failover_budget=listener.failover_budget)
        self._owned_limiter: Any = None
        if limiter is None and config.ratelimits:
            redis_url = PlanoSettings().ratelimit_redis_url
            if redis_url:
                from plano_asgi.gateway.ratelimit_redis import RedisTokenLimiter

                limiter = self._owned_limiter = RedisTokenLimiter.from_url(redis_url)
        self.resolver = ModelResolver(config)
        self._deps = GatewayDeps(
            client=self._client,
            provider_client=self._provider_client,
            resolver=self.resolver,
            endpoints=endpoints,
            timeouts=timeouts,
            retry=retry,
            limiter=RateLimiter(config.ratelimits, limiter),
            input_filters=input_filters or None,
            output_filters=output_filters or None,
            max_body_bytes=listener.max_body_bytes if listener else 16 * 1024 * 1024,
            tracer=tracer,
            listener=listener.name if listener else "llm",
            tracing=config.tracing,
            metrics=metrics,
            filter_types={f.id: f.type for f in config.filters},
            preferences=PreferenceRouter.from_config(config, client=self._client),
        )
        self._metrics = metrics
        self._owned_state: ConversationStore | None = None
        if state is None and config.state_storage is not None:
            from plano_asgi.state import store_from_config

            state = self._owned_state = store_from_config(config.state_storage)
        self._state = state
        self._responses_endpoint: ResponsesEndpoint | None = None
        models = [
            {"id": model, "object": "model", "created": 0, "owned_by": owner}
            for model, owner in self.resolver.listed()
        ]
        self._models = {"object": "list", "data": models}

    def _filters_from_config(self, ids: tuple[str, ...]) -> FilterChain:
        try:
            from plano_asgi.filters.registry import FilterRegistry
        except ImportError as exc:  # the filters package is optional at this seam
            issue = ConfigIssue(
                "listeners", f"model listener filters need plano_asgi.filters: {exc}"
            )
            raise ConfigError([issue]) from exc
        if self._registry is None:
            self._registry = FilterRegistry(self.config, client=self._client)
        chain: FilterChain = self._registry.chain(ids)
        return chain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = route_path(scope)
            api = _ROUTES.get(path)
            if api is not None:
                if scope["method"] == "POST":
                    await Exchange(self._deps, scope, receive, send, api, path).run()  # type: ignore[arg-type]
                else:
                    await _method_not_allowed(send, "POST")
                return
            if path == "/v1/responses":
                if scope["method"] == "POST":
                    await self._responses()(scope, receive, send)
                else:
                    await _method_not_allowed(send, "POST")
                return
            decision = DECISION_ROUTES.get(path)
            if decision is not None:
                if scope["method"] == "POST":
                    await serve_decision(self._deps, scope, receive, send, decision)
                else:
                    await _method_not_allowed(send, "POST")
                return
            if path == "/v1/models":
                await send_json(send, 200, self._models)
                return
            if path == "/healthz":
                await send_json(send, 200, {"status": "ok", "listener": self._deps.listener})
                return
            if path == "/metrics":
                if not await serve_metrics(scope, receive, send, self._metrics):
                    await _method_not_allowed(send, "GET")
                return
        elif scope["type"] == "lifespan":
            if self.app is None:
                await serve_lifespan(receive, send, shutdown=self.aclose)
            else:  # your app answers the lifespan; we close what we own after its shutdown
                await self.app(scope, receive, close_after_shutdown(send, self.aclose))
            return
        if self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await send_json(send, 404, _NOT_FOUND.to_dict())

    def _responses(self) -> ResponsesEndpoint:
        # Built on first use: a gateway that never sees /v1/responses never imports it.
        if self._responses_endpoint is None:
            from plano_asgi.responses import ResponsesEndpoint

            self._responses_endpoint = ResponsesEndpoint(
                self._chat, store=self._state, max_body_bytes=self._deps.max_body_bytes
            )
        return self._responses_endpoint

    async def _chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        await Exchange(self._deps, scope, receive, send, "openai", "/v1/chat/completions").run()

    async def aclose(self) -> None:
        """Close the HTTP client, Redis limiter and state store (if the gateway made them)
        and filters."""
        if self._registry is not None:
            await self._registry.aclose()
            self._registry = None
        if self._owned_limiter is not None:
            await self._owned_limiter.aclose()
            self._owned_limiter = None
        if self._owned_state is not None:
            await self._owned_state.aclose()
            self._owned_state = None
        if self._owns_client:
            await self._provider_client.aclose()
            await self._client.aclose()


_NOT_FOUND = RequestError("Not found.", status_code=404, code="not_found")


async def _method_not_allowed(send: Send, allowed: str) -> None:
    body = error_body(
        "Method not allowed.", type="invalid_request_error", code="method_not_allowed"
    )
    await send_json(send, 405, body, {"allow": allowed})
