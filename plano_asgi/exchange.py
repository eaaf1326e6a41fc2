"""The edge every served request shares: its state, the disconnect race and the error edge.

The model gateway (:mod:`plano_asgi.gateway.exchange`), the agent listener
(:mod:`plano_asgi.listener.exchange`) and SDK agents (:mod:`plano_agent_sdk.exchange`) each
serve one request with a subclass of :class:`BaseExchange`, created per request and never
shared. The base holds what they have in common:

* **State**: ``started`` (the response headers went out), ``finished`` (the last body
  message went out), ``status``, ``error`` (for the trace) and ``client_left``.
  :meth:`BaseExchange.send` keeps them true to what the client got.
* **The disconnect race**: :meth:`BaseExchange.race` runs the work against a watcher on
  ``receive()``; a client that leaves before the last byte cancels the work at once (and with
  it any upstream call), instead of letting it run into the void. Servers also report a
  completed response as ``http.disconnect``; that cancels nothing. An ``OSError`` from the
  server's ``send`` (ASGI 2.4 servers raise once the client is gone) is the same news: the
  work is cancelled and the request ends cleanly, with no traceback.
* **The error edge**: :meth:`BaseExchange.capture` turns what the work raised into the error
  the client gets, and :meth:`BaseExchange.fail` sends it: the OpenAI error envelope with its
  status while nothing was sent, one in-band error event once a stream is open (never a
  ``[DONE]``, so clients raise instead of taking a cut answer as complete). A
  :class:`~plano_asgi.errors.PlanoError` is sent as itself; anything else is a bug, logged
  with its traceback and answered ``500`` with a fixed message.

Subclasses change the wire shape and the logging through small hooks (``outgoing``,
``error_body``, ``in_band_error``, ``response_headers``, ``expected``, ``unexpected``,
``log_error``, ``on_disconnect``). This module sits at the bottom of the package: it imports
only the ASGI helpers, the error tree and the SSE encoder, so the SDK can build on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ClassVar

import anyio
import anyio.lowlevel
from starlette.types import Message, Receive, Scope, Send

from plano_asgi._asgi import ClientDisconnectedError, send_json
from plano_asgi.errors import PlanoError
from plano_asgi.sse import encode_json

__all__ = ["BaseExchange", "ClientGoneError", "Work", "lone_exception"]

Work = Callable[[], Awaitable[None]]
"""What an exchange runs: a coroutine function without arguments (bind them with partial)."""


class ClientGoneError(Exception):
    """The server could not deliver a message: the client is gone (internal, never rendered)."""


def lone_exception(exc: BaseException) -> BaseException:
    """The single exception inside (nested) one-member exception groups, else ``exc``.

    Task groups wrap what one task raised; the edge wants the error itself.
    """
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


class BaseExchange:
    """One HTTP request from its first ``receive()`` to its last ``send()``."""

    logger: ClassVar[logging.Logger] = logging.getLogger("plano_asgi")
    """Where the edge logs; each subclass names its component's logger."""
    unexpected_message: ClassVar[str] = "The server failed unexpectedly; see its logs."
    """What the client reads when the work raised something that is not a PlanoError."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.receive = receive
        self._client_send = send
        self.started = False
        """The response headers went out: from now on errors go in-band."""
        self.finished = False
        """The last body message went out: a disconnect after it cancels nothing."""
        self.status = 0
        """The status the client got (0 until a response starts)."""
        self.error: PlanoError | str | None = None
        """The first error the client was told about (for the trace)."""
        self.client_left = False
        """The client went away before the last byte."""
        self.request_id = ""
        """The request's id for logs, once known (subclasses set it)."""
        self._work_scope: anyio.CancelScope | None = None

    # -- sending ------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Send ``message`` to the client, keeping ``started``/``finished``/``status`` true.

        Raises :class:`ClientGoneError` (after cancelling the race's work) when the server
        says the client is gone; the edge ends the request quietly on it.
        """
        message = self.outgoing(message)
        try:
            await self._client_send(message)
        except OSError:
            self.client_left = True
            self.cancel_work()
            raise ClientGoneError from None
        if message["type"] == "http.response.start":
            self.started = True
            self.status = int(message["status"])
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.finished = True

    async def start(self, status: int, headers: Iterable[tuple[bytes, bytes]]) -> None:
        """Send the response headers."""
        await self.send({"type": "http.response.start", "status": status, "headers": [*headers]})

    async def body(self, chunk: bytes, more: bool) -> None:
        """Send a piece of the response body (``more=False``: the last one)."""
        await self.send({"type": "http.response.body", "body": chunk, "more_body": more})

    def outgoing(self, message: Message) -> Message:
        """Hook: the message as it goes to the client (the gateway adds its headers)."""
        return message

    # -- the disconnect race ------------------------------------------------------------

    async def race(self, work: Work) -> None:
        """Run ``work`` under the error edge (:meth:`guard`) while watching for a disconnect.

        Call it once the request body is read: from then on ``receive()`` belongs to the
        watcher. The client leaving cancels ``work``; ``work`` ending stops the watcher.

        The watcher is one plain asyncio task beside the work, which runs in the caller's
        task under a cancel scope: a task group (a second scope, a task handle, an exit
        that waits) costs several times as much for the same race, on every request. What
        a task group guarantees is kept: the watcher never outlives the race, and what it
        raises cancels the work and is raised here.
        """
        watcher = asyncio.get_running_loop().create_task(self._watch_disconnect())
        try:
            with anyio.CancelScope() as self._work_scope:
                await self.guard(work)
                if not watcher.done():
                    # One checkpoint lets the watcher see the server's post-response
                    # disconnect, which is cheaper than cancelling it.
                    await anyio.lowlevel.checkpoint()
        finally:
            self._work_scope = None
            if not watcher.done():
                watcher.cancel()
                await asyncio.wait((watcher,))
        if not watcher.cancelled() and (failed := watcher.exception()) is not None:
            raise failed

    def cancel_work(self) -> None:
        """Cancel the work :meth:`race` runs (nothing when no race is on)."""
        if self._work_scope is not None:
            self._work_scope.cancel()

    async def _watch_disconnect(self) -> None:
        try:
            while (await self.receive())["type"] != "http.disconnect":
                pass
        except Exception:
            self.cancel_work()  # the race raises it once the work stopped
            raise
        if self.finished:
            return  # servers report a completed response this way
        self.client_left = True
        self.on_disconnect()
        self.cancel_work()

    def on_disconnect(self) -> None:
        """Hook: the client left before the last byte; the work is cancelled next."""
        self.logger.info("client left, cancelling request %s", self.request_id)

    # -- the error edge -----------------------------------------------------------------

    async def guard(self, work: Work) -> None:
        """Run ``work``; what it raises becomes the client's error response (:meth:`fail`)."""
        error = await self.capture(work)
        if error is not None:
            await self.fail(error)

    async def capture(self, work: Work) -> PlanoError | None:
        """Run ``work`` and return the error the client must get, or ``None``.

        ``None`` also when the client left (while its request was read, or while the answer
        was sent): nobody is there to tell.
        """
        try:
            await work()
        except Exception as raised:
            exc = lone_exception(raised)
            if isinstance(exc, ClientDisconnectedError | ClientGoneError):
                self.client_left = True
                return None
            if isinstance(exc, PlanoError):
                self.log_error(exc)
                return exc
            # An ExceptionGroup holds only Exceptions, so its lone member is one too.
            expected = self.expected(exc) if isinstance(exc, Exception) else None
            if expected is not None:
                return expected
            self.logger.error("request %s failed unexpectedly", self.request_id, exc_info=exc)
            return self.unexpected(exc)
        return None

    async def fail(self, error: PlanoError) -> None:
        """Tell the client about ``error``: an envelope, or in-band once a stream is open.

        Nothing is sent after the last byte, and a client that is gone is not an error.
        """
        if self.error is None:
            self.error = error
        try:
            if not self.started:
                headers = {**error.headers(), **self.response_headers()}
                await send_json(self.send, error.status_code, self.error_body(error), headers)
            elif not self.finished:
                await self.body(self.in_band_error(error), False)
        except ClientGoneError:
            self.client_left = True

    def expected(self, exc: Exception) -> PlanoError | None:
        """Hook: the error a known foreign exception stands for (``None``: a bug)."""
        return None

    def unexpected(self, exc: BaseException) -> PlanoError:
        """Hook: what the client gets for a bug; never the exception's text or traceback."""
        return PlanoError(self.unexpected_message)

    def log_error(self, error: PlanoError) -> None:
        """Hook: log an error the work raised on purpose, before the client is told."""
        self.logger.info(
            "request %s failed with %d: %s", self.request_id, error.status_code, error.message
        )

    def error_body(self, error: PlanoError) -> dict[str, Any]:
        """Hook: the JSON body of an error response (OpenAI's envelope)."""
        return error.to_dict()

    def in_band_error(self, error: PlanoError) -> bytes:
        """Hook: the last bytes of a stream that failed after it started."""
        return encode_json(error.to_dict())

    def response_headers(self) -> dict[str, str]:
        """Hook: headers every response of this exchange carries (e.g. ``x-request-id``)."""
        return {}
