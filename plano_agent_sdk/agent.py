"""``Agent``: an ASGI app that serves one agent's handler the way Plano calls agents.

Routes, relative to wherever the app is mounted:

- ``POST /v1/chat/completions``: runs your handler (spec §2.9);
- ``GET /v1/models``: lists this agent as the one model;
- ``/healthz``: 200 while the process is up.

Run it with any ASGI server (``uvicorn weather:agent``, hypercorn, granian) or mount it in
Starlette/FastAPI (``Mount("/weather", app=agent)``). The agent owns one gateway client
(``ctx.llm``, one connection pool for all requests), created on first use and closed at
lifespan shutdown; mounted apps do not get lifespan events, so pass
``lifespan=agent.lifespan`` to the outer app or call :meth:`Agent.aclose` yourself.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar, overload

from openai import AsyncOpenAI
from opentelemetry import trace
from opentelemetry.trace import Tracer
from starlette.types import Receive, Scope, Send

from plano_agent_sdk.context import Context
from plano_agent_sdk.exchange import _Exchange
from plano_agent_sdk.gateway import gateway_client
from plano_agent_sdk.request import AgentRequest
from plano_agent_sdk.streaming import Chunk, HandlerResult
from plano_asgi._asgi import route_path, send_error, send_json
from plano_asgi._lifecycle import AsyncCloseable, serve_lifespan
from plano_asgi.errors import RequestError

__all__ = ["Agent", "HandlerFunc"]

#: A handler: ``async def handle(request, ctx)`` returning a result, or an async generator.
HandlerFunc: TypeAlias = (
    Callable[[AgentRequest, Context], Awaitable[HandlerResult]]
    | Callable[[AgentRequest, Context], AsyncIterator[str | Chunk]]
)
_H = TypeVar("_H", bound=HandlerFunc)

_CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
_MODELS_PATHS = ("/v1/models", "/models")


@dataclass(frozen=True, slots=True)
class _Registration:
    func: Callable[..., Any]
    timeout: float | None
    is_generator: bool


class Agent(AsyncCloseable):
    """One agent as an ASGI app: register your logic with :meth:`handler`, serve it anywhere.

    ``name`` is the agent id (the ``agents[].id`` in ``plano_config.yaml``);
    ``description`` is what a router reads to pick it. ``gateway_url`` overrides
    ``LLM_GATEWAY_ENDPOINT``; ``llm`` injects your own client (then you close it).
    Each request gets a SERVER span from ``tracer`` (default: the global provider's, a
    no-op until you configure an OpenTelemetry SDK), child of the caller's ``traceparent``;
    gateway calls made through ``ctx.llm`` carry that span as their parent.
    """

    def __init__(
        self,
        name: str,
        /,
        *,
        description: str = "",
        gateway_url: str | None = None,
        api_key: str | None = None,
        llm: AsyncOpenAI | None = None,
        max_body_bytes: int = 8 * 1024 * 1024,
        tracer: Tracer | None = None,
    ) -> None:
        if not name:
            raise ValueError("an Agent needs a name (its id in plano_config.yaml)")
        self.name = name
        self.description = description
        self.max_body_bytes = max_body_bytes
        self.tracer = tracer if tracer is not None else trace.get_tracer("plano_agent_sdk")
        self._gateway_url = gateway_url
        self._api_key = api_key
        self._llm = llm
        self._owns_llm = llm is None
        self._registration: _Registration | None = None

    def __repr__(self) -> str:
        return f"Agent({self.name!r})"

    # -- the handler -------------------------------------------------------------------

    @overload
    def handler(self, func: _H, /) -> _H: ...

    @overload
    def handler(
        self, func: None = None, /, *, timeout: float | None = None
    ) -> Callable[[_H], _H]: ...

    def handler(
        self, func: _H | None = None, /, *, timeout: float | None = None
    ) -> _H | Callable[[_H], _H]:
        """Register ``async def handle(request, ctx)`` as this agent's logic.

        Use it bare (``@agent.handler``) or with options (``@agent.handler(timeout=30)``).
        ``timeout`` bounds the whole answer in seconds: past it the client gets a 504, or
        an in-band error event when streaming already started. The function is returned
        unchanged, so you can still call it directly in tests.
        """

        def register(fn: _H) -> _H:
            is_generator = inspect.isasyncgenfunction(fn)
            if not (is_generator or inspect.iscoroutinefunction(fn)):
                raise TypeError("@agent.handler needs an async function or async generator")
            if self._registration is not None:
                raise ValueError(f"agent {self.name!r} already has a handler")
            if timeout is not None and timeout <= 0:
                raise ValueError("timeout must be a positive number of seconds")
            self._registration = _Registration(fn, timeout, is_generator)
            return fn

        return register if func is None else register(func)

    # -- the gateway client ------------------------------------------------------------

    @property
    def llm(self) -> AsyncOpenAI:
        """The shared gateway client (``ctx.llm``), created on first use."""
        if self._llm is None:
            self._llm = gateway_client(self._gateway_url, api_key=self._api_key)
        return self._llm

    async def aclose(self) -> None:
        """Close the gateway client's connections (a new client is made on next use)."""
        client, self._llm = self._llm, None
        if client is not None and self._owns_llm:
            await client.close()
        if not self._owns_llm:
            self._llm = client

    def _swap_llm(self, client: AsyncOpenAI | None, owned: bool) -> tuple[AsyncOpenAI | None, bool]:
        """Install another gateway client, returning the previous one (for testing)."""
        previous = (self._llm, self._owns_llm)
        self._llm, self._owns_llm = client, owned
        return previous

    @contextlib.asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """A Starlette/FastAPI ``lifespan`` that closes this agent's client on shutdown."""
        try:
            yield
        finally:
            await self.aclose()

    # -- ASGI --------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await serve_lifespan(receive, send, shutdown=self.aclose)
            return
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})
            return
        if kind != "http":
            return
        path = route_path(scope)
        method = scope["method"]
        if path in _CHAT_PATHS:
            if method != "POST":
                await self._not_allowed(send, "POST")
                return
            await _Exchange(self, scope, receive, send).run(self._registration)
        elif path in _MODELS_PATHS:
            if method not in ("GET", "HEAD"):
                await self._not_allowed(send, "GET")
                return
            await send_json(send, 200, self._models())
        elif path == "/healthz" or path.startswith("/healthz/"):
            await send_json(send, 200, {"status": "ok", "agent": self.name})
        else:
            await send_error(
                send, RequestError(f"No route for {path}.", status_code=404, code="not_found")
            )

    def _models(self) -> dict[str, Any]:
        entry = {
            "id": self.name,
            "object": "model",
            "created": 0,
            "owned_by": "plano_agent_sdk",
            "description": self.description,
        }
        return {"object": "list", "data": [entry]}

    @staticmethod
    async def _not_allowed(send: Send, allow: str) -> None:
        error = RequestError("Method not allowed.", status_code=405, code="method_not_allowed")
        await send_error(send, error, {"allow": allow})
