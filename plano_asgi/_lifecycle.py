"""Lifecycle of the objects that own connections (listener, gateway, agent): ``async with``
support and the ASGI lifespan protocol, written once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from starlette.types import Message, Receive, Send

__all__ = ["AsyncCloseable", "close_after_shutdown", "serve_lifespan"]

Hook = Callable[[], Awaitable[None]]


async def serve_lifespan(
    receive: Receive, send: Send, *, startup: Hook | None = None, shutdown: Hook | None = None
) -> None:
    """Answer the ASGI lifespan messages for an app served alone.

    A hook that raises is reported to the server (``lifespan.*.failed``) rather than crashing
    it, so the server can say why it did not start or stop cleanly.
    """
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if not await _run(startup, send, "lifespan.startup.failed"):
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if await _run(shutdown, send, "lifespan.shutdown.failed"):
                await send({"type": "lifespan.shutdown.complete"})
            return


async def _run(hook: Hook | None, send: Send, failed: str) -> bool:
    if hook is None:
        return True
    try:
        await hook()
    except Exception as exc:
        await send({"type": failed, "message": repr(exc)})
        return False
    return True


def close_after_shutdown(send: Send, aclose: Hook) -> Send:
    """Wrap a wrapped app's lifespan ``send`` so ``aclose`` runs when its shutdown completes."""

    async def send_then_close(message: Message) -> None:
        if message["type"] == "lifespan.shutdown.complete":
            await aclose()
        await send(message)

    return send_then_close


class AsyncCloseable:
    """Mixin: ``async with obj:`` calls ``await obj.aclose()`` on the way out."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
