"""``PlanoMiddleware``: an agent listener as a pure ASGI middleware (or a standalone app).

It answers three endpoints relative to where it is mounted (``route_path``):

* ``POST /v1/chat/completions``: route the turn to agents, run filter chains, stream back;
* ``POST /v1/responses`` and ``POST /v1/messages``: the same turn for OpenAI Responses and
  Anthropic Messages clients (:mod:`~plano_asgi.listener.responses_api`,
  :mod:`~plano_asgi.listener.messages_api`);
* ``GET /v1/models``: the listener's agents (Plano lists LLM providers here);
* ``GET /healthz``: 200;
* ``GET /metrics``: Prometheus text for every listener of the process (``metrics_path``);
* ``/mcp``: the listener's agents as MCP tools (``agent_tools`` in the config).

Every other request goes to the wrapped ``app`` untouched: the body is not read and no task
group is started, so context variables and streaming behave as if we were not there. With no
``app``, other paths get a 404 JSON body and ``lifespan`` is handled here.

All per-request state lives on a per-request ``_Exchange``
(:mod:`plano_asgi.listener.exchange`), never on the middleware.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plano_asgi._asgi import route_path, send_json
from plano_asgi._lifecycle import AsyncCloseable, close_after_shutdown, serve_lifespan
from plano_asgi.agent_tools.origin import LISTENER_URL, listener_url
from plano_asgi.agent_tools.server import AgentToolServer
from plano_asgi.config import PlanoConfig
from plano_asgi.errors import RequestError
from plano_asgi.listener.client_api import ChatApi, ClientApi
from plano_asgi.listener.exchange import _Exchange
from plano_asgi.listener.setup import ListenerOptions, ListenerSetup
from plano_asgi.telemetry.metrics import serve_metrics

if TYPE_CHECKING:
    pass

__all__ = ["PlanoMiddleware"]

logger = logging.getLogger("plano_asgi.listener")

_CHAT = "/v1/chat/completions"
_RESPONSES = "/v1/responses"
_MESSAGES = "/v1/messages"
_TURNS = (_CHAT, _RESPONSES, _MESSAGES)
_MODELS = "/v1/models"
_HEALTH = "/healthz"
_METRICS = "/metrics"


class PlanoMiddleware(AsyncCloseable):
    """Serve one agent listener of a Plano config inside any ASGI app, or on its own.

    Wrap an app (``PlanoMiddleware(app, config=...)``), add it with
    ``Middleware(PlanoMiddleware, config=...)``, mount it (``Mount("/plano",
    app=PlanoMiddleware(config=...))``) or serve it alone. ``listener`` names the agent
    listener when the config has several. The configuration is resolved once, by
    :meth:`from_config` (a :class:`~plano_asgi.listener.setup.ListenerSetup`);
    ``PlanoMiddleware(app, config=..., ...)`` does the same, and ``PlanoMiddleware(app,
    setup=setup)`` serves a setup you resolved.

    Inject ``router`` to replace the configured router, ``client`` to send every outbound
    call (agents, HTTP filters, the orchestrator) through yours (an
    :class:`~plano_asgi.outbound.HttpClient`, or an ``httpx2.AsyncClient``, which is wrapped;
    you keep ownership; default: an :class:`~plano_asgi.outbound.AiohttpClient` the
    middleware owns), ``filters`` (a ``FilterRegistry``-like
    object with ``chain(ids)``, or a mapping of filter id to :class:`Filter`), and
    ``agents`` (agent id -> ASGI app) to run agents in this process with no network hop.

    On lifespan startup the router's model (if any) is loaded in a worker thread; whatever
    the middleware creates (HTTP client, filter registry) it closes in :meth:`aclose`, which
    runs on lifespan shutdown. Where no lifespan reaches it (under ``Mount``), use
    ``async with`` or call :meth:`aclose` from your app's lifespan.

    Observability: every chat request gets a server span (continuing the client's
    ``traceparent``) with routing, filter and agent spans under it, request metrics and one
    ``plano_asgi.access`` log line. ``tracer`` replaces the library tracer of the global
    OpenTelemetry provider; ``metrics`` the process-wide metric set. ``metrics_path`` is
    where the Prometheus text is served (``None``: not served here, e.g. because the
    wrapped app has its own ``/metrics``).

    ``state`` is the conversation store of ``/v1/responses`` (default: the one the config's
    ``state_storage`` describes, closed with the middleware; none without it).
    """

    def __init__(
        self,
        app: ASGIApp | None = None,
        /,
        *,
        config: PlanoConfig | str | Path | None = None,
        setup: ListenerSetup | None = None,
        metrics_path: str | None = _METRICS,
        **options: Unpack[ListenerOptions],
    ) -> None:
        """Serve ``setup`` (see :meth:`from_config`), or resolve ``config`` with the options
        first, as :meth:`from_config` does."""
        if setup is None:
            if config is None:
                raise TypeError("PlanoMiddleware needs config= (or a resolved setup=)")
            setup = ListenerSetup.from_config(config, **options)
        elif options:
            raise TypeError(f"options ({', '.join(options)}) go with config=, not setup=")
        elif config is not None:
            raise TypeError("pass config= or setup=, not both")
        self.app = app
        self.setup = setup
        self.config = setup.config
        self.listener = setup.listener
        self.runtime = setup.runtime
        self.client = setup.runtime.client
        self.metrics = setup.runtime.metrics
        tools = self.listener.agent_tools
        self.agent_tools: AgentToolServer | None = None
        """The ``/mcp`` endpoint (None when ``agent_tools.enabled`` is false)."""
        if tools.enabled:
            exposed = tools.agents or tuple(agent.id for agent in self.listener.agents)
            self.agent_tools = AgentToolServer(self.runtime, exposed)
        self._closed = False
        self._tools_path = tools.path if tools.enabled else None
        self._owned_paths = tuple(
            p for p in (*_TURNS, _MODELS, _HEALTH, metrics_path, self._tools_path) if p
        )
        self._metrics_path = metrics_path

    @classmethod
    def from_config(
        cls,
        config: PlanoConfig | str | Path,
        app: ASGIApp | None = None,
        *,
        metrics_path: str | None = _METRICS,
        **options: Unpack[ListenerOptions],
    ) -> PlanoMiddleware:
        """The middleware of one agent listener of ``config``, resolved by
        :meth:`ListenerSetup.from_config <plano_asgi.listener.setup.ListenerSetup.from_config>`
        with ``options`` (:class:`~plano_asgi.listener.setup.ListenerOptions`)."""
        setup = ListenerSetup.from_config(config, **options)
        return cls(app, setup=setup, metrics_path=metrics_path)

    # -- lifecycle --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close what the middleware's setup created (HTTP client, filters, agent tools,
        state store)."""
        if self._closed:
            return
        self._closed = True
        if self.agent_tools is not None:
            await self.agent_tools.aclose()
        await self.setup.aclose()

    # -- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = route_path(scope)
            if path in self._owned_paths:
                await self._own(path, scope, receive, send)
                return
        elif kind == "lifespan":
            if self.app is None:
                await serve_lifespan(
                    receive, send, startup=self.runtime.selector.warm_up, shutdown=self.aclose
                )
            else:
                await self.app(
                    scope, self._warming(receive), close_after_shutdown(send, self.aclose)
                )
            return
        if self.app is not None:
            await self.app(scope, receive, send)
        elif kind == "http":
            await send_json(send, 404, _NOT_FOUND.to_dict())
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _own(self, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if path == self._tools_path and self.agent_tools is not None:
            await self.agent_tools(scope, receive, send)
        elif path == self._metrics_path:
            if not await serve_metrics(scope, receive, send, self.metrics, path=path):
                await _method_not_allowed(send, "GET")
        elif path in _TURNS:
            if method != "POST":
                await _method_not_allowed(send, "POST", self._client_api(path))
                return
            # In-process agents inherit this and send their tool calls back to this listener.
            token = LISTENER_URL.set(listener_url(scope))
            try:
                api = self._client_api(path)
                await _Exchange(self.runtime, scope, receive, send, path, api).run()
            finally:
                LISTENER_URL.reset(token)
        elif method not in ("GET", "HEAD"):  # /v1/models and /healthz
            await _method_not_allowed(send, "GET")
        elif path == _MODELS:
            await send_json(send, 200, self._models())
        else:
            await send_json(send, 200, {"status": "ok", "listener": self.listener.name})

    def _client_api(self, path: str) -> ClientApi:
        # The Responses and Anthropic translations load on their first request, so a
        # chat-only listener does not import them.
        if path == _RESPONSES:
            from plano_asgi.listener.responses_api import ResponsesApi

            return ResponsesApi(self.runtime.conversations)
        if path == _MESSAGES:
            from plano_asgi.listener.messages_api import MessagesApi

            return MessagesApi()
        return ChatApi()

    def _models(self) -> dict[str, Any]:
        data = [
            {
                "id": agent.id,
                "object": "model",
                "created": 0,
                "owned_by": self.listener.name,
                "description": agent.description,
                "default": agent.id == self.runtime.selector.default,
            }
            for agent in self.listener.agents
        ]
        return {"object": "list", "data": data}

    def _warming(self, receive: Receive) -> Receive:
        async def receive_then_warm() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.runtime.selector.warm_up()
            return message

        return receive_then_warm


_NOT_FOUND = RequestError("Not Found", status_code=404, code="not_found")


async def _method_not_allowed(send: Send, allow: str, api: ClientApi | None = None) -> None:
    error = RequestError(
        f"Method not allowed; use {allow}.", status_code=405, code="method_not_allowed"
    )
    body = api.error_body(error) if api is not None else error.to_dict()
    await send_json(send, 405, body, {"allow": allow})
