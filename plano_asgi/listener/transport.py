"""Calling one agent: over HTTP through the outbound seam, or in-process as an ASGI app.

Both paths give an :class:`AgentReply` (status, headers, decoded body chunks as they come)
and apply the same :class:`~plano_asgi.config.HopTimeouts`: ``connect`` for the TCP
connection, ``first_byte`` from sending the request to the headers *and* the first body
bytes, ``idle`` since the last progress (what counts is the reader's call: see
:mod:`plano_asgi.listener.reading`), ``total`` for the whole reply. Every failure is an
:class:`~plano_asgi.errors.UpstreamError` (``UpstreamTimeoutError`` for timeouts) naming the
agent.

In-process agents are called with a scope/receive/send we build; their body travels through
a small memory channel, so the caller sees each chunk when the app sends it. (httpx's
``ASGITransport`` would buffer the whole body, so it is not used.)
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import ObjectReceiveStream
from starlette.types import ASGIApp, Message

from plano_asgi._asgi import post_scope
from plano_asgi.config import HopTimeouts
from plano_asgi.errors import (
    OutboundConnectError,
    OutboundError,
    OutboundProtocolError,
    UpstreamError,
    UpstreamTimeoutError,
)
from plano_asgi.outbound import HttpClient, Phases, Reply
from plano_asgi.redaction import NO_SECRETS, Redactor

logger = logging.getLogger("plano_asgi.listener")

__all__ = [
    "AGENT_PATH",
    "AGENT_PATHS",
    "AgentReply",
    "AgentTarget",
    "collapse_groups",
    "open_agent",
]

AGENT_PATH = "/v1/chat/completions"
AGENT_PATHS = {
    "chat_completions": AGENT_PATH,
    "responses": "/v1/responses",
    "messages": "/v1/messages",
}
"""Where an agent is called, by the API it speaks (``agents[].api``)."""


@dataclass(frozen=True, slots=True)
class AgentTarget:
    """An agent as the listener calls it: by URL, or as an in-process ASGI app."""

    id: str
    url: str | None = None
    app: ASGIApp | None = None
    timeouts: HopTimeouts = field(default_factory=HopTimeouts)
    api: str = "chat_completions"
    """The API the agent speaks: ``chat_completions``, ``responses`` or ``messages``."""

    @property
    def path(self) -> str:
        """The agent's request path for its API."""
        return AGENT_PATHS[self.api]

    @property
    def endpoint(self) -> str:
        """Where requests go (for logs and spans)."""
        return f"{self.url.rstrip('/')}{self.path}" if self.url else f"asgi:{self.id}{self.path}"


@dataclass(slots=True)
class AgentReply:
    """An agent's answer, open for reading. Only valid inside :func:`open_agent`'s block.

    Timing is enforced as the body is read (:meth:`chunks`): the first bytes by the
    ``first_byte`` deadline, the whole reply by ``total`` (counted from the request), and
    the gap since the last *progress* by ``idle``. The reader of the body decides what is
    progress by calling :meth:`progressed` (a data event, not a ``: ping`` comment).
    """

    agent: str
    status: int
    headers: list[tuple[str, str]]
    _source: AsyncGenerator[bytes, None]
    _deadline: float
    timeouts: HopTimeouts
    _end: float = math.inf
    _progress: float = math.inf
    redactor: Redactor = NO_SECRETS
    """Keys to take out of the body as it is read (the listener's and the client's)."""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def is_event_stream(self) -> bool:
        return "text/event-stream" in (self.header("content-type") or "").lower()

    def progressed(self) -> None:
        """The reader got real data: restart the idle clock."""
        self._progress = anyio.current_time()

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """Body chunks as they arrive (decoded, keys redacted: see
        :class:`~plano_asgi.redaction.StreamRedactor`); raises on timeouts and broken replies."""
        first = True
        idle = self.timeouts.idle
        scrub = self.redactor.stream()
        try:
            while True:
                if first:
                    limit, what = self._deadline, "first bytes"
                else:
                    limit = self._progress + idle
                    what = f"any data within {idle:g}s (pings do not count)"
                if self._end < limit:
                    limit = self._end
                    what = f"its whole reply within {self.timeouts.total:g}s"
                with anyio.CancelScope(deadline=limit) as scope:
                    try:
                        chunk = await self._source.__anext__()
                    except StopAsyncIteration:
                        if rest := scrub.flush():
                            yield rest
                        return
                if scope.cancelled_caught:
                    raise UpstreamTimeoutError(
                        f"Agent '{self.agent}' did not send {what}.",
                        hop="agent",
                        target=self.agent,
                    )
                if chunk:
                    if first:
                        first = False
                        self.progressed()
                    if chunk := scrub.feed(chunk):
                        yield chunk
        finally:
            await self._source.aclose()


@asynccontextmanager
async def open_agent(
    target: AgentTarget,
    body: bytes,
    headers: Mapping[str, str],
    *,
    client: HttpClient,
    redactor: Redactor | None = None,
) -> AsyncIterator[AgentReply]:
    """Send ``body`` to ``target`` and yield its reply once the headers are in; its body
    comes with ``redactor``'s keys taken out."""
    now = anyio.current_time()
    deadline = now + min(target.timeouts.first_byte, target.timeouts.total)
    opened = (
        _open_http(target, body, headers, deadline, client)
        if target.app is None
        else _open_asgi(target, target.app, body, headers, deadline)
    )
    async with opened as reply:
        reply._end = now + target.timeouts.total
        if redactor is not None:
            reply.redactor = redactor
        yield reply


@contextmanager
def collapse_groups() -> Iterator[None]:
    """Re-raise the lone exception of a task-group ``ExceptionGroup`` as itself.

    Our task groups run one helper task next to the caller's code, so a failure is never
    really plural; callers and the error edge expect the plain exception.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        error: BaseException = group
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        raise error from None


def _failed(target: AgentTarget, what: str, status: int | None = None) -> UpstreamError:
    return UpstreamError(
        f"Agent '{target.id}' {what}.", hop="agent", target=target.id, upstream_status=status
    )


@asynccontextmanager
async def _open_http(
    target: AgentTarget,
    body: bytes,
    headers: Mapping[str, str],
    deadline: float,
    client: HttpClient,
) -> AsyncIterator[AgentReply]:
    assert target.url is not None
    times = target.timeouts
    # Reads are bounded here (first_byte, idle, total), not per read by the client.
    phases = Phases(connect=times.connect, read=None)
    opened = client.open("POST", target.endpoint, headers=headers, body=body, phases=phases)
    reply: Reply | None = None
    with anyio.CancelScope(deadline=deadline) as scope:
        try:
            reply = await opened.__aenter__()
        except TimeoutError:
            raise UpstreamTimeoutError(
                f"Agent '{target.id}' did not accept a connection within {times.connect:g}s.",
                hop="agent",
                target=target.id,
            ) from None
        except OutboundConnectError:
            raise _failed(target, f"is unreachable at {target.url}") from None
        except OutboundError as exc:
            raise _failed(target, f"failed before answering ({exc.what})") from None
    if reply is None or scope.cancelled_caught:
        raise UpstreamTimeoutError(
            f"Agent '{target.id}' did not answer within {times.first_byte:g}s.",
            hop="agent",
            target=target.id,
        )
    try:
        yield AgentReply(
            agent=target.id,
            status=reply.status,
            headers=reply.headers,
            _source=_http_body(target, reply),
            _deadline=deadline,
            timeouts=times,
        )
    finally:
        with anyio.CancelScope(shield=True):
            await opened.__aexit__(None, None, None)


async def _http_body(target: AgentTarget, reply: Reply) -> AsyncGenerator[bytes, None]:
    try:
        # Decoded by the client: the listener reads every reply (completeness, shape), so a
        # compressed body is inflated there and relayed without its content-encoding.
        async for chunk in reply.chunks():
            yield chunk
    except OutboundError as exc:
        raise _failed(target, f"broke off its reply ({_why(exc)})") from None


def _why(exc: OutboundError) -> str:
    if isinstance(exc, OutboundProtocolError):
        return "connection closed before the body was complete"
    return exc.what


def _asgi_scope(target: AgentTarget, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw += [(b"host", b"localhost"), (b"content-length", str(len(body)).encode())]
    return post_scope(target.path, raw)


@asynccontextmanager
async def _open_asgi(
    target: AgentTarget,
    app: ASGIApp,
    body: bytes,
    headers: Mapping[str, str],
    deadline: float,
) -> AsyncIterator[AgentReply]:
    sender, messages = anyio.create_memory_object_stream[Message](max_buffer_size=8)
    finished = anyio.Event()
    request_sent = False

    async def receive() -> Message:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def run() -> None:
        async with sender:
            try:
                await app(_asgi_scope(target, body, headers), receive, sender.send)
            except Exception:  # the agent's own bug: report it, don't crash the listener
                logger.exception("in-process agent %s failed", target.id)
                await sender.send({"type": "plano.agent_error"})

    with collapse_groups():
        async with anyio.create_task_group() as group:
            group.start_soon(run)
            try:
                start: Message | None = None
                with anyio.CancelScope(deadline=deadline):
                    start = await messages.receive()
                if start is None:
                    raise UpstreamTimeoutError(
                        f"Agent '{target.id}' did not answer within "
                        f"{target.timeouts.first_byte:g}s.",
                        hop="agent",
                        target=target.id,
                    )
                if start["type"] != "http.response.start":
                    raise _failed(target, "failed before answering (in-process app error)")
                yield AgentReply(
                    agent=target.id,
                    status=int(start["status"]),
                    headers=[
                        (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                        for k, v in start.get("headers", ())
                    ],
                    _source=_asgi_body(target, messages),
                    _deadline=deadline,
                    timeouts=target.timeouts,
                )
            except anyio.EndOfStream:
                raise _failed(target, "returned without answering") from None
            finally:
                finished.set()
                group.cancel_scope.cancel()
                messages.close()


async def _asgi_body(
    target: AgentTarget, messages: ObjectReceiveStream[Message]
) -> AsyncGenerator[bytes, None]:
    async for message in messages:
        if message["type"] != "http.response.body":
            raise _failed(target, "failed while answering (in-process app error)")
        chunk = message.get("body", b"")
        if chunk:
            yield bytes(chunk)
        if not message.get("more_body", False):
            return
    raise _failed(target, "stopped before finishing its reply")
