"""Write a filter once as a plain function; serve it as an HTTP filter, an MCP tool, or both.

A filter function takes the payload and the path hint and returns the payload to use next::

    from plano_agent_sdk.filters import FilterRejection, filter_function

    @filter_function
    def input_guards(body: dict, path: str) -> dict:
        if "password" in body["messages"][-1]["content"]:
            raise FilterRejection(403, "Please do not share passwords.")
        return body

    http_app = input_guards.http_app    # type: http  ->  uvicorn module:http_app
    mcp_app = input_guards.mcp_app      # type: mcp   ->  serves tool "input_guards" at /mcp

The function may be ``async``; a plain ``def`` runs in a worker thread (as Starlette runs sync
endpoints), so blocking calls in it do not stall the server. Returning ``None`` drops an
output event. Raising :class:`FilterRejection` rejects the request: over HTTP the reply is
that status with an OpenAI-style envelope; over MCP the tool answers ``isError`` (Plano shows
status 400; plano-asgi also reads the status you chose). Any other exception is a *failure*
of the filter, which the gateway reports as 502 (or lets the request through for
``on_error: allow``), never as a rejection.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, overload

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from plano_agent_sdk.errors import AgentError
from plano_asgi._asgi import route_path
from plano_asgi._lifecycle import serve_lifespan
from plano_asgi.errors import MissingExtraError, error_body

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = [
    "FilterFn",
    "FilterFunction",
    "FilterRejection",
    "filter_function",
    "http_filter_app",
    "mcp_filter_app",
    "mcp_filter_server",
]

logger = logging.getLogger("plano_agent_sdk.filters")

FilterFn = Callable[[dict[str, Any], str], dict[str, Any] | None | Awaitable[dict[str, Any] | None]]
"""``(body, path) -> body | None``, sync or async."""

MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_PATH = "/v1/chat/completions"


class FilterRejection(AgentError):
    """Raise from a filter to reject the request with your 4xx ``status`` and ``message``.

    The message reaches the client as is (inside the gateway's envelope naming the filter),
    so keep secrets and the user's prompt out of it.
    """

    error_type = "filter_rejected"
    code = "filter_rejected"

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        if not 400 <= status <= 499:
            raise ValueError(f"FilterRejection status must be a 4xx code, got {status}")
        super().__init__(status, message, code=code)
        self.error_type = "filter_rejected"

    def to_dict(self) -> dict[str, Any]:
        body = error_body(self.message, type=self.error_type, code=self.code)
        body["error"]["status"] = self.status_code
        return body


class FilterFunction:
    """A filter function plus the apps that serve it. Call it like the function itself."""

    def __init__(self, fn: FilterFn, *, name: str | None = None, prefix: str = "") -> None:
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", "filter"))
        self.prefix = prefix.rstrip("/")
        self.doc = fn.__doc__ or f"Filter {self.name}."
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
        )

    async def __call__(self, body: dict[str, Any], path: str) -> dict[str, Any] | None:
        """Run the function (awaiting it if async) and check it returned an object or None."""
        if self._is_async:
            result = self.fn(body, path)
        else:
            # Like a sync Starlette endpoint: a blocking filter must not stall the server.
            result = await anyio.to_thread.run_sync(self.fn, body, path)
        if inspect.isawaitable(result):
            result = await result
        if result is not None and not isinstance(result, dict):
            raise TypeError(f"filter {self.name} returned {type(result).__name__}, not a dict")
        return result

    @property
    def http_app(self) -> ASGIApp:
        """An ASGI app serving this filter over Plano's HTTP filter protocol (any POST path)."""
        return http_filter_app(self)

    @property
    def mcp_app(self) -> ASGIApp:
        """A streamable-HTTP MCP app (at ``/mcp``) exposing this filter as one tool."""
        return mcp_filter_app(self)


@overload
def filter_function(
    fn: FilterFn, *, name: str | None = ..., prefix: str = ...
) -> FilterFunction: ...


@overload
def filter_function(
    fn: None = ..., *, name: str | None = ..., prefix: str = ...
) -> Callable[[FilterFn], FilterFunction]: ...


def filter_function(
    fn: FilterFn | None = None, *, name: str | None = None, prefix: str = ""
) -> FilterFunction | Callable[[FilterFn], FilterFunction]:
    """Decorator turning ``(body, path) -> body`` into a :class:`FilterFunction`.

    Use bare (``@filter_function``) or with options: ``name`` is the MCP tool name (default:
    the function's name, which Plano expects to equal the filter id); ``prefix`` is the path
    of the filter's configured url, stripped from incoming HTTP paths to recover the hint.
    """
    if fn is None:

        def decorate(inner: FilterFn) -> FilterFunction:
            return FilterFunction(inner, name=name, prefix=prefix)

        return decorate
    return FilterFunction(fn, name=name, prefix=prefix)


def _as_filter(fn: FilterFunction | FilterFn) -> FilterFunction:
    return fn if isinstance(fn, FilterFunction) else FilterFunction(fn)


def http_filter_app(fn: FilterFunction | FilterFn, *, prefix: str | None = None) -> ASGIApp:
    """A pure ASGI app answering every ``POST`` with ``fn(body, path)``.

    The path hint is the request path minus ``prefix`` (the path part of the filter's
    configured url, if any). Replies: 200 with the new JSON body (``null`` to drop an event),
    the rejection's 4xx with an OpenAI-style envelope, 400 for a body that is not a JSON
    object, 500 when the function fails.
    """
    flt = _as_filter(fn)
    strip = (flt.prefix if prefix is None else prefix).rstrip("/")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _reply(send, 405, error_body("Use POST.", type="invalid_request_error"))
            return
        path = route_path(scope)
        if strip and (path == strip or path.startswith(strip + "/")):
            path = path[len(strip) :] or "/"
        raw = await _read(receive)
        try:
            body = json.loads(raw) if raw is not None else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            message = "Request body must be a JSON object."
            await _reply(send, 400, error_body(message, type="invalid_request_error"))
            return
        try:
            result = await flt(body, path)
        except FilterRejection as exc:
            await _reply(send, exc.status_code, exc.to_dict())
            return
        except Exception:
            logger.exception("filter %s failed", flt.name)
            await _reply(send, 500, error_body("Filter failed.", type="server_error"))
            return
        await _reply(send, 200, result)

    return app


def mcp_filter_server(*fns: FilterFunction | FilterFn, name: str = "plano-filters") -> MCPServer:
    """An ``MCPServer`` (mcp 2.x's FastMCP) with one tool ``<name>(body, path)`` per filter.

    Use this when you want to add tools of your own or serve it your way; otherwise use
    :func:`mcp_filter_app`.
    """
    try:
        from mcp.server.mcpserver import MCPServer  # the `mcp` extra is optional
    except ImportError as exc:
        raise MissingExtraError("mcp", "an MCP filter server", exc) from exc

    # MCPServer() calls logging.basicConfig(INFO); a filter library must not reconfigure
    # your app's logging, so make that call a no-op when the root logger is still bare.
    root = logging.getLogger()
    guard = logging.NullHandler() if not root.handlers else None
    if guard is not None:
        root.addHandler(guard)
    try:
        server: MCPServer = MCPServer(name)
    finally:
        if guard is not None:
            root.removeHandler(guard)
    for fn in fns:
        flt = _as_filter(fn)
        server.add_tool(_tool(flt), name=flt.name, description=flt.doc)
    return server


def mcp_filter_app(
    *fns: FilterFunction | FilterFn,
    path: str = "/mcp",
    stateless: bool = False,
    json_response: bool = False,
    host: str = "0.0.0.0",
) -> ASGIApp:
    """A streamable-HTTP MCP ASGI app serving the filters as tools at ``path``.

    Run it with lifespan on (uvicorn's default). ``stateless``/``json_response`` select the
    MCP SDK's stateless and plain-JSON modes (plano-asgi handles both; Plano needs neither).
    ``host`` is where you bind: for ``127.0.0.1``/``localhost`` the SDK turns on DNS-rebinding
    protection (only local Host headers accepted); otherwise any Host is accepted, as a filter
    behind the gateway is addressed by container or service name.
    """
    server = mcp_filter_server(*fns)
    return server.streamable_http_app(
        streamable_http_path=path,
        stateless_http=stateless,
        json_response=json_response,
        host=host,
    )


def _tool(flt: FilterFunction) -> Callable[..., Awaitable[dict[str, Any] | None]]:
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.shared.exceptions import MCPError
    from mcp_types.jsonrpc import INTERNAL_ERROR

    async def tool(
        body: dict[str, Any], path: str = "/v1/chat/completions"
    ) -> dict[str, Any] | None:
        try:
            return await flt(body, path)
        except FilterRejection as exc:
            # Plano reads only isError + the text; plano-asgi also reads the status in it.
            raise ToolError(json.dumps(exc.to_dict())) from None
        except Exception:
            logger.exception("filter %s failed", flt.name)
            # A protocol error, not isError: the gateway must see a failure, not a rejection.
            raise MCPError(INTERNAL_ERROR, f"Filter {flt.name} failed.") from None

    tool.__name__ = flt.name
    tool.__doc__ = flt.doc
    return tool


async def _read(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _reply(send: Send, status: int, body: Any) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
