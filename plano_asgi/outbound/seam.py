"""The outbound seam: one small protocol every outbound HTTP call of our own code goes through.

An :class:`HttpClient` opens one request (method, URL, headers, body bytes, per-phase
:class:`Phases`) and yields a :class:`Reply` once the response head is in: its status, its
headers and its body as an async iterator of chunks (one per piece as it arrives). Leaving
the ``async with`` block closes the reply; a body read to its end lets the connection go back
to the pool, anything else closes it.

``decode`` is per call: ``True`` (the default) undoes a ``content-encoding`` (gzip,
deflate) for callers that read the body (agents, filters, routers); ``False`` relays it
as it came (the gateway's provider calls, which ask for identity and stream raw).

Failures are the small set in :mod:`plano_asgi.errors` (:class:`~plano_asgi.errors.OutboundError`
and its subclasses) or ``TimeoutError``, whichever library is behind the client; callers map
them to the :class:`~plano_asgi.errors.UpstreamError` that names their hop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from plano_asgi.errors import OutboundBodyTooLargeError

__all__ = ["DEFAULT_PHASES", "MAX_READ_BYTES", "HttpClient", "Phases", "Reply", "read_all"]


@dataclass(frozen=True, slots=True)
class Phases:
    """Per-phase timeouts in seconds (``None``: unbounded).

    ``connect`` bounds the TCP/TLS setup, ``read`` every single read of the head or body.
    Longer rules (first byte, idle between events, total) are the caller's: it knows what
    counts as progress.
    """

    connect: float | None = 5.0
    read: float | None = 60.0


DEFAULT_PHASES = Phases()
"""For calls without a hop of their own: connect within 5 s, each read within a minute."""


class Reply(Protocol):
    """A response, open for reading inside its client's ``open`` block."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every header as sent, in order (names as the server spelled them)."""
        ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The body (content-encoding undone when the client decodes) as it arrives."""
        ...


class HttpClient(Protocol):
    """Opens outbound requests; owned by one component, closed by :meth:`aclose`."""

    def open(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes = b"",
        phases: Phases = DEFAULT_PHASES,
        decode: bool = True,
    ) -> AbstractAsyncContextManager[Reply]:
        """Send the request; the block is entered once the response head arrived."""
        ...

    @property
    def is_closed(self) -> bool:
        """Whether the connections behind this client are closed."""
        ...

    async def aclose(self) -> None:
        """Close the connections this client owns (a no-op for borrowed ones)."""
        ...


MAX_READ_BYTES = 8 * 1024 * 1024
"""What :func:`read_all` reads at most by default: 8 MiB, decoded (filter and router replies
are a chat body or a verdict, never more)."""


async def read_all(reply: Reply, limit: int = MAX_READ_BYTES) -> bytes:
    """The whole body of ``reply``, at most ``limit`` bytes after decoding.

    A longer body (or a small compressed one that inflates past it) stops the read at the
    first chunk beyond the limit and raises :class:`~plano_asgi.errors.OutboundBodyTooLargeError`,
    so a misbehaving server cannot make the caller hold more than ``limit`` plus one chunk.
    """
    parts: list[bytes] = []
    size = 0
    async for chunk in reply.chunks():
        size += len(chunk)
        if size > limit:
            raise OutboundBodyTooLargeError(f"reply body over {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)
