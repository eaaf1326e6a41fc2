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

import logging
from typing import TYPE_CHECKING, Unpack

from starlette.types import ASGIApp, Receive, Scope, Send

from plano_asgi._asgi import route_path, send_json
from plano_asgi._lifecycle import AsyncCloseable, close_after_shutdown, serve_lifespan
from plano_asgi.config import PlanoConfig
from plano_asgi.errors import RequestError, error_body
from plano_asgi.gateway.decision import DECISION_ROUTES, serve_decision
from plano_asgi.gateway.exchange import Exchange
from plano_asgi.gateway.setup import GatewayOptions, GatewaySetup
from plano_asgi.telemetry.metrics import serve_metrics
from plano_asgi.wire.anthropic import anthropic_error

if TYPE_CHECKING:
    from plano_asgi.responses import ResponsesEndpoint

__all__ = ["ModelGateway"]

logger = logging.getLogger("plano_asgi.gateway")

_ROUTES = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}


class ModelGateway(AsyncCloseable):
    """Serve the ``type: model`` listener of a config: resolution, failover, translation.

    Use it on its own (``uvicorn.run(ModelGateway.from_config(config))``), mounted under a
    prefix, or wrapped around your app (``ModelGateway.from_config(config, app)``). The
    configuration is resolved once, by :meth:`from_config` (a
    :class:`~plano_asgi.gateway.setup.GatewaySetup`); ``ModelGateway(app, config=config,
    ...)`` does the same, and ``ModelGateway(app, setup=setup)`` serves a setup you resolved.
    Provider calls, HTTP filters and the preference router's model go through one
    keep-alive client of the outbound seam (:class:`~plano_asgi.outbound.AiohttpClient`);
    it honours ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` and trusts
    ``overrides.upstream_tls_ca_path``, else ``SSL_CERT_FILE``, else the system's CAs (see
    :mod:`plano_asgi.gateway.tls`). Pass ``client`` to send them through yours instead: an
    :class:`~plano_asgi.outbound.HttpClient`, or an ``httpx2.AsyncClient`` (wrapped; it keeps
    its own ``verify``, proxies and transport). You close what you pass. Close the gateway
    with :meth:`aclose` or ``async with``. Served alone, it
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
        config: PlanoConfig | None = None,
        setup: GatewaySetup | None = None,
        **options: Unpack[GatewayOptions],
    ) -> None:
        """Serve ``setup`` (see :meth:`from_config`), or resolve ``config`` with the options
        first, as :meth:`from_config` does."""
        if setup is None:
            if config is None:
                raise TypeError("ModelGateway needs config= (or a resolved setup=)")
            setup = GatewaySetup.from_config(config, **options)
        elif options:
            raise TypeError(f"options ({', '.join(options)}) go with config=, not setup=")
        elif config is not None:
            raise TypeError("pass config= or setup=, not both")
        self.app = app
        self.setup = setup
        self.config = setup.config
        self.resolver = setup.deps.resolver
        self._deps = setup.deps
        self._responses_endpoint: ResponsesEndpoint | None = None

    @classmethod
    def from_config(
        cls, config: PlanoConfig, app: ASGIApp | None = None, **options: Unpack[GatewayOptions]
    ) -> ModelGateway:
        """The gateway of ``config``'s model listener, resolved by
        :meth:`GatewaySetup.from_config <plano_asgi.gateway.setup.GatewaySetup.from_config>`
        with ``options`` (:class:`~plano_asgi.gateway.setup.GatewayOptions`)."""
        return cls(app, setup=GatewaySetup.from_config(config, **options))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if await self._serve_own(route_path(scope), scope, receive, send):
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

    async def _serve_own(self, path: str, scope: Scope, receive: Receive, send: Send) -> bool:
        """Serve ``path`` when it is one of the gateway's; False for every other path."""
        api = _ROUTES.get(path)
        decision = DECISION_ROUTES.get(path)
        if api is not None or decision is not None or path == "/v1/responses":
            if scope["method"] != "POST":
                await _method_not_allowed(send, "POST", anthropic=path.endswith("/messages"))
            elif api is not None:
                await Exchange(self._deps, scope, receive, send, api, path).run()  # type: ignore[arg-type]
            elif decision is not None:
                await serve_decision(self._deps, scope, receive, send, decision)
            else:
                await self._responses()(scope, receive, send)
        elif path in ("/v1/models", "/healthz"):
            if scope["method"] not in ("GET", "HEAD"):
                await _method_not_allowed(send, "GET, HEAD")
            elif path == "/v1/models":
                await send_json(send, 200, self.setup.models)
            else:
                await send_json(send, 200, {"status": "ok", "listener": self._deps.listener})
        elif path == "/metrics":
            if not await serve_metrics(scope, receive, send, self._deps.metrics):
                await _method_not_allowed(send, "GET")
        else:
            return False
        return True

    def _responses(self) -> ResponsesEndpoint:
        # Built on first use: a gateway that never sees /v1/responses never imports it.
        if self._responses_endpoint is None:
            from plano_asgi.responses import ResponsesEndpoint

            self._responses_endpoint = ResponsesEndpoint(
                self._chat, store=self.setup.state, max_body_bytes=self._deps.max_body_bytes
            )
        return self._responses_endpoint

    async def _chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        await Exchange(self._deps, scope, receive, send, "openai", "/v1/chat/completions").run()

    async def aclose(self) -> None:
        """Close what the gateway's setup made (HTTP clients, Redis limiter, state store,
        filters)."""
        await self.setup.aclose()


_NOT_FOUND = RequestError("Not found.", status_code=404, code="not_found")


async def _method_not_allowed(send: Send, allowed: str, *, anthropic: bool = False) -> None:
    """The 405, in Anthropic's shape on the Messages paths (the client's SDK parses it)."""
    body = error_body(
        "Method not allowed.", type="invalid_request_error", code="method_not_allowed"
    )
    if anthropic:
        body = anthropic_error(405, body)
    await send_json(send, 405, body, {"allow": allowed})
