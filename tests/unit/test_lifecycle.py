"""The lifespan protocol the listener, the gateway and the agents share."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest

from plano_asgi._lifecycle import close_after_shutdown, serve_lifespan

pytestmark = pytest.mark.anyio


def _script(*types: str) -> tuple[Any, list[dict[str, Any]]]:
    incoming = [{"type": t} for t in types]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    return (receive, send), sent


async def test_hooks_run_in_order_and_complete() -> None:
    calls: list[str] = []

    async def startup() -> None:
        calls.append("startup")

    async def shutdown() -> None:
        calls.append("shutdown")

    (receive, send), sent = _script("lifespan.startup", "lifespan.shutdown")
    await serve_lifespan(receive, send, startup=startup, shutdown=shutdown)
    assert calls == ["startup", "shutdown"]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_failing_hooks_are_reported_to_the_server() -> None:
    async def broken() -> None:
        raise RuntimeError("model file missing")

    (receive, send), sent = _script("lifespan.startup")
    await serve_lifespan(receive, send, startup=broken)
    assert sent == [
        {"type": "lifespan.startup.failed", "message": "RuntimeError('model file missing')"}
    ]
    (receive, send), sent = _script("lifespan.startup", "lifespan.shutdown")
    await serve_lifespan(receive, send, shutdown=broken)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.failed"]


async def test_close_after_the_wrapped_apps_shutdown() -> None:
    order: list[str] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        order.append(message["type"])

    async def aclose() -> None:
        order.append("aclose")

    wrapped = close_after_shutdown(send, aclose)
    await wrapped({"type": "lifespan.startup.complete"})
    await wrapped({"type": "lifespan.shutdown.complete"})
    assert order == ["lifespan.startup.complete", "aclose", "lifespan.shutdown.complete"]
