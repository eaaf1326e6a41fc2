"""One MCP client session, owned by a background *runner* task.

The ``mcp`` SDK's context managers (the streamable-HTTP transport and ``ClientSession``) own
anyio task groups and cancel scopes, which must be entered and left by the same task. A
request cannot own them: it would leave them in another task, or tie the session's life to
one request. So each session lives in a runner task that enters them, publishes the ready
session, waits to be told to stop, and leaves them. Requests only send through the session.

Per-call HTTP headers (request id, trace context) reach the wire through a context variable:
the SDK posts each request from a task running in a copy of the *sending* task's context, so
an httpx2 request hook reads the caller's headers there.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import Implementation

from plano_asgi.outbound import outbound_client

__all__ = ["CALL_HEADERS", "McpConnection", "mcp_endpoint", "new_http_client"]

logger = logging.getLogger("plano_asgi.filters")

CLOSE_GRACE = 5.0
"""Seconds a session gets to end cleanly (DELETE to the server) before its runner is cancelled."""

CLIENT_INFO = Implementation(name="plano-asgi", version="1")

# Headers of the current tools/call. The SDK posts each request from a task that runs in a
# copy of the sending task's context, so an httpx2 request hook can read them there.
CALL_HEADERS: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "plano_mcp_call_headers", default=None
)


def mcp_endpoint(url: str) -> str:
    """The MCP endpoint for a filter url: its own path if it has one, else ``/mcp`` (Plano)."""
    parts = urlsplit(url)
    path = parts.path if parts.path not in ("", "/") else "/mcp"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


async def _add_call_headers(request: httpx2.Request) -> None:
    extra = CALL_HEADERS.get()
    if extra:
        for name, value in extra.items():
            request.headers[name] = value


DRAIN_GRACE = 0.25
"""Seconds we wait for the end of an event-stream reply the SDK closed early (see below)."""
DRAIN_LIMIT = 64 * 1024
"""Bytes of such a remainder we read before giving up on reusing the connection."""


class _DrainOnClose(httpx2.AsyncByteStream):
    """A reply body that, when closed unread, first reads its short remainder.

    The MCP SDK closes each event-stream reply to a POST as soon as the JSON-RPC result
    event arrived, before the server's end of stream. Closing a body that is not fully read
    discards the connection, so every ``tools/call`` would open a new TCP connection. The
    server ends such a stream right after the result, so the remainder is a few bytes: read
    it (bounded in time and size) and the connection goes back to the pool. This runs in
    the SDK's per-request task, after the result was delivered: callers never wait for it.
    """

    def __init__(self, inner: httpx2.AsyncByteStream) -> None:
        self._inner = inner
        self._finished = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._inner:
            yield part
        self._finished = True

    async def aclose(self) -> None:
        try:
            if not self._finished:
                read = 0
                # A failure here must not reach the SDK: its result was already delivered.
                with anyio.move_on_after(DRAIN_GRACE), contextlib.suppress(Exception):
                    async for part in self._inner:
                        read += len(part)
                        if read > DRAIN_LIMIT:
                            break
        finally:
            with anyio.CancelScope(shield=True):  # even when cancelled: never leak a socket
                await self._inner.aclose()


class _ReusingTransport(httpx2.AsyncBaseTransport):
    """The default transport, with :class:`_DrainOnClose` around event-stream POST replies."""

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        content_type = response.headers.get("content-type", "")
        if request.method == "POST" and content_type.startswith("text/event-stream"):
            stream = response.stream
            if isinstance(stream, httpx2.AsyncByteStream):
                response.stream = _DrainOnClose(stream)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def new_http_client(filter_id: str) -> httpx2.AsyncClient:
    """The HTTP client for one filter's sessions (kept across sessions: building one, with
    its TLS context, costs more than the MCP handshake itself on loopback)."""
    return outbound_client(
        headers={"x-arch-upstream": filter_id},
        # Read stays long for the server's optional GET event stream; each call is bounded
        # by the filter timeout instead.
        timeout=httpx2.Timeout(30.0, connect=5.0, read=300.0),
        request_hooks=[_add_call_headers],
        transport=_ReusingTransport(),
    )


class McpConnection:
    """One MCP session and the runner task that owns its context managers."""

    def __init__(
        self, endpoint: str, filter_id: str, client: httpx2.AsyncClient, open_timeout: float
    ) -> None:
        self.endpoint = endpoint
        self.filter_id = filter_id
        self.client = client
        self.open_timeout = open_timeout
        self.session: ClientSession | None = None
        self.error: BaseException | None = None
        self.ready = anyio.Event()
        self.stop = anyio.Event()
        self.done = anyio.Event()
        # An empty context: the runner must not inherit the request that happened to open it.
        self.task = asyncio.get_running_loop().create_task(
            self._run(), name=f"mcp-filter-{filter_id}", context=contextvars.Context()
        )

    async def _run(self) -> None:
        try:
            async with (
                streamable_http_client(self.endpoint, http_client=self.client) as (reader, writer),
                ClientSession(reader, writer, client_info=CLIENT_INFO) as session,
            ):
                # A server that accepts but never answers must not pin the session slot.
                with anyio.fail_after(self.open_timeout):
                    await session.initialize()
                self.session = session
                self.ready.set()
                logger.debug("filter %s: MCP session open at %s", self.filter_id, self.endpoint)
                await self.stop.wait()
        except Exception as exc:
            self.error = exc
            logger.debug("filter %s: MCP session ended: %r", self.filter_id, exc)
        finally:
            self.session = None
            self.ready.set()
            self.done.set()

    @property
    def alive(self) -> bool:
        """Whether new calls may use this session (not stopped, runner still running)."""
        return not self.done.is_set() and not self.stop.is_set()

    async def close(self) -> None:
        """Ask the runner to leave its context managers (ends the session), then wait."""
        self.stop.set()
        with anyio.move_on_after(CLOSE_GRACE):
            await self.done.wait()
        if not self.done.is_set():
            self.task.cancel()
            with anyio.move_on_after(1.0):
                await self.done.wait()
