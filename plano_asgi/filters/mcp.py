"""MCP filters (``type: mcp``, the default): a ``tools/call`` over streamable HTTP.

Wire-compatible with Plano's convention: the tool (``tool`` or the filter id) is called with
``{"body": <payload>, "path": <path hint>}`` and returns the new body; ``isError`` rejects the
request with status 400 and the tool's text.

Where Plano opens a fresh session for every request (three round trips per filter per
request, never closed), we keep **one session per filter** for the app's lifetime, shared by
all concurrent requests, and re-open it once when the server forgot it (expiry, restart) or
the connection broke. Stateless servers (no ``mcp-session-id``) and plain JSON replies work,
because the official ``mcp`` client handles both. The endpoint is the filter url's path when
it has one, else Plano's fixed ``/mcp``.

Each session lives in a background task (see :mod:`plano_asgi.filters.mcp_session`);
requests only send through it, they never own its lifetime.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import anyio
import httpx2
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent
from mcp_types.jsonrpc import CONNECTION_CLOSED, INVALID_REQUEST

from plano_asgi.config import FilterDef
from plano_asgi.errors import FilterRejectedError, UpstreamError, UpstreamTimeoutError
from plano_asgi.filters.base import FilterCall
from plano_asgi.filters.http import DEFAULT_FILTER_TIMEOUT, filter_headers, rejection_message
from plano_asgi.filters.mcp_session import (
    CALL_HEADERS,
    McpConnection,
    mcp_endpoint,
    new_http_client,
)

__all__ = ["McpFilter", "mcp_endpoint"]

logger = logging.getLogger("plano_asgi.filters")

# Transport-owned headers a caller's forward set must never override.
_RESERVED = frozenset({"accept", "content-type", "content-length", "host", "mcp-session-id"})
_TRACE_META = ("traceparent", "tracestate")


class _SessionLostError(Exception):
    """The session is gone (server forgot it, connection broke): re-open and retry once."""


class McpFilter:
    """A ``type: mcp`` filter with one reusable session (see the module docstring)."""

    def __init__(self, definition: FilterDef) -> None:
        self.id = definition.id
        self.on_error: Literal["fail", "allow"] = definition.on_error
        self.tool = definition.tool or definition.id
        self.endpoint = mcp_endpoint(definition.url)
        self.timeout = definition.timeout or DEFAULT_FILTER_TIMEOUT
        self._conn: McpConnection | None = None
        self._retired: set[McpConnection] = set()
        self._lock = anyio.Lock()
        self._closed = False
        self._client: httpx2.AsyncClient | None = None
        self.sessions_opened = 0
        """How many sessions this filter opened (1 in steady state; for tests and metrics)."""

    def __repr__(self) -> str:
        return f"McpFilter(id={self.id!r}, endpoint={self.endpoint!r}, tool={self.tool!r})"

    async def apply(self, payload: dict[str, Any], call: FilterCall) -> dict[str, Any] | None:
        """Call the tool with ``{"body", "path"}``; return its body (see the module docstring)."""
        headers = {
            name: value
            for name, value in filter_headers(self.id, call).items()
            if name not in _RESERVED and not name.startswith("mcp-")
        }
        # Trace context twice: as HTTP headers for proxies and HTTP-level tracing, and in the
        # request's _meta, where MCP servers look for it.
        meta = {name: headers[name] for name in _TRACE_META if name in headers}
        arguments = {"body": payload, "path": call.path}
        try:
            with anyio.fail_after(self.timeout):
                result = await self._call_with_retry(arguments, headers, meta)
        except TimeoutError:
            raise UpstreamTimeoutError(
                f"Filter '{self.id}' did not answer within {self.timeout:g}s.",
                hop="filter",
                target=self.id,
            ) from None
        return self._payload(result)

    async def _call_with_retry(
        self, arguments: dict[str, Any], headers: dict[str, str], meta: dict[str, Any]
    ) -> CallToolResult:
        for attempt in (1, 2):
            conn = await self._connection()
            try:
                return await self._call(conn, arguments, headers, meta)
            except _SessionLostError as exc:
                await self._retire(conn)
                if attempt == 2:
                    raise UpstreamError(
                        f"Filter '{self.id}' MCP session failed: {exc}",
                        hop="filter",
                        target=self.id,
                    ) from None
                logger.info("filter %s: MCP session lost (%s), re-opening", self.id, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connection(self) -> McpConnection:
        conn = self._conn
        if conn is not None and conn.alive and conn.session is not None:
            return conn
        async with self._lock:
            if self._closed:
                raise UpstreamError(f"Filter '{self.id}' is closed.", hop="filter", target=self.id)
            conn = self._conn
            if conn is None or not conn.alive:
                if conn is not None:
                    self._retire_nowait(conn)
                conn = McpConnection(self.endpoint, self.id, self._http_client(), self.timeout)
                self._conn = conn
                self.sessions_opened += 1
            await conn.ready.wait()
            if conn.session is None:
                self._conn = None
                self._retire_nowait(conn)
                reason = _describe(conn.error)
                if reason == "TimeoutError":
                    raise UpstreamTimeoutError(
                        f"Filter '{self.id}' did not open an MCP session within {self.timeout:g}s.",
                        hop="filter",
                        target=self.id,
                    )
                raise UpstreamError(
                    f"Filter '{self.id}' is unreachable at {self.endpoint}: {reason}",
                    hop="filter",
                    target=self.id,
                )
            return conn

    async def _call(
        self,
        conn: McpConnection,
        arguments: dict[str, Any],
        headers: dict[str, str],
        meta: dict[str, Any],
    ) -> CallToolResult:
        session = conn.session
        if session is None or not conn.alive:
            raise _SessionLostError("session closed")
        token = CALL_HEADERS.set(headers)
        try:
            result = await session.call_tool(self.tool, arguments, meta=meta or None)  # type: ignore[arg-type]
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED or (
                exc.code == INVALID_REQUEST and "session" in exc.message.lower()
            ):
                raise _SessionLostError(exc.message) from None
            raise UpstreamError(
                f"Filter '{self.id}' MCP error {exc.code}: {exc.message}",
                hop="filter",
                target=self.id,
            ) from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            raise _SessionLostError(type(exc).__name__) from None
        except RuntimeError as exc:  # the SDK's output-schema check, input-required results
            raise UpstreamError(
                f"Filter '{self.id}' returned an unusable MCP result: {exc}",
                hop="filter",
                target=self.id,
            ) from None
        finally:
            CALL_HEADERS.reset(token)
        if not isinstance(result, CallToolResult):  # pragma: no cover - claimed results are off
            raise UpstreamError(
                f"Filter '{self.id}' returned an unexpected MCP result.",
                hop="filter",
                target=self.id,
            )
        return result

    def _payload(self, result: CallToolResult) -> dict[str, Any] | None:
        text = next((c.text for c in result.content if isinstance(c, TextContent)), None)
        if result.is_error:
            status, message = _tool_error(self.tool, text or "unknown_error")
            raise FilterRejectedError(self.id, status, message)
        value: Any
        structured = result.structured_content
        if isinstance(structured, dict) and set(structured) == {"result"}:
            value = structured["result"]  # FastMCP wraps non-object returns
        elif isinstance(structured, dict):
            value = structured
        elif text is not None:
            try:
                value = json.loads(text)
            except ValueError:
                raise UpstreamError(
                    f"Filter '{self.id}' returned text that is not JSON.",
                    hop="filter",
                    target=self.id,
                ) from None
        else:
            raise UpstreamError(
                f"Filter '{self.id}' returned no content.", hop="filter", target=self.id
            )
        if value is None or isinstance(value, dict):
            return value
        raise UpstreamError(
            f"Filter '{self.id}' returned {type(value).__name__}, expected a JSON object.",
            hop="filter",
            target=self.id,
        )

    def _http_client(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = new_http_client(self.id)
        return self._client

    def _retire_nowait(self, conn: McpConnection) -> None:
        conn.stop.set()
        self._retired.add(conn)
        conn.task.add_done_callback(lambda _task: self._retired.discard(conn))

    async def _retire(self, conn: McpConnection) -> None:
        async with self._lock:
            if self._conn is conn:
                self._conn = None
            self._retire_nowait(conn)

    async def reset_session(self) -> None:
        """Drop the current session; the next call opens a new one (it is ended in the
        background)."""
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                self._retire_nowait(conn)

    async def aclose(self) -> None:
        """End the session (the server sees a DELETE) and wait for the runner to finish."""
        async with self._lock:
            self._closed = True
            conns = list(self._retired)
            if self._conn is not None:
                conns.append(self._conn)
            self._conn = None
        for conn in conns:
            await conn.close()
        self._retired.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _tool_error(tool: str, text: str) -> tuple[int, str]:
    """Status and message of an ``isError`` result.

    Plano always answers 400 with the raw text. We drop the MCP SDK's
    ``Error executing tool <name>:`` prefix, and when the text carries an OpenAI-style
    envelope with a 4xx ``status`` (our SDK's rejections do) we keep that status.
    """
    prefix = f"Error executing tool {tool}: "
    if text.startswith(prefix):
        text = text[len(prefix) :]
    start = text.find("{")
    if start >= 0:
        try:
            data, _ = json.JSONDecoder().raw_decode(text, start)
        except ValueError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            status = error.get("status")
            if not (isinstance(status, int) and 400 <= status <= 499):
                status = 400
            return status, rejection_message(error["message"])
    return 400, rejection_message(text)


def _describe(error: BaseException | None) -> str:
    """Why a session did not open: the exception type, plus the MCP error's own first line
    (``Not Found``, ``Server returned an error response``) when the server answered."""
    if error is None:
        return "no session"
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    if isinstance(error, MCPError) and error.message:
        first = error.message.splitlines()[0]
        return f"{type(error).__name__}: {first[:120]}"
    return type(error).__name__
