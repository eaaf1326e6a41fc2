"""Reading the rest of an event-stream reply the MCP SDK closed early (connection reuse)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest

from plano_asgi.filters import mcp_session
from plano_asgi.filters.mcp_session import _DrainOnClose

pytestmark = pytest.mark.anyio


class Body(httpx2.AsyncByteStream):
    """A reply body: ``parts``, then either the end or (``endless``) nothing, forever."""

    def __init__(self, parts: list[bytes], *, endless: bool = False, fail: bool = False) -> None:
        self.parts = list(parts)
        self.endless = endless
        self.fail = fail
        self.read: list[bytes] = []
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.parts:
            part = self.parts.pop(0)
            self.read.append(part)
            yield part
        if self.fail:
            raise httpx2.ReadError("connection reset")
        if self.endless:
            await anyio.sleep_forever()

    async def aclose(self) -> None:
        self.closed = True


async def test_closing_early_reads_the_short_remainder_then_closes() -> None:
    body = Body([b"event: message\ndata: {}\n\n", b"", b"tail"])
    stream = _DrainOnClose(body)
    async for _ in stream:
        break  # the SDK stops after the result event
    await stream.aclose()
    assert body.read == [b"event: message\ndata: {}\n\n", b"", b"tail"]
    assert body.closed


async def test_a_stream_that_never_ends_is_closed_after_the_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mcp_session, "DRAIN_GRACE", 0.05)
    body = Body([b"event: message\n\n"], endless=True)
    stream = _DrainOnClose(body)
    with anyio.fail_after(2):
        await stream.aclose()
    assert body.closed


async def test_a_huge_remainder_is_not_read_to_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mcp_session, "DRAIN_LIMIT", 10)
    body = Body([b"x" * 8, b"x" * 8, b"x" * 8, b"x" * 8])
    await _DrainOnClose(body).aclose()
    assert len(body.read) == 2  # stopped once past the limit
    assert body.closed


async def test_a_failing_remainder_is_swallowed_and_the_body_still_closed() -> None:
    body = Body([b"x"], fail=True)
    await _DrainOnClose(body).aclose()  # the SDK already has its result: no error for it
    assert body.closed


async def test_a_fully_read_body_is_not_read_again() -> None:
    body = Body([b"a", b"b"])
    stream = _DrainOnClose(body)
    assert [part async for part in stream] == [b"a", b"b"]
    body.parts = [b"must not be read"]
    await stream.aclose()
    assert body.read == [b"a", b"b"]
    assert body.closed
