"""The gateway's provider calls: one POST through the outbound seam, its answer as raw chunks.

:class:`ProviderCalls` adapts any :class:`plano_asgi.outbound.HttpClient` to what the gateway
reads (:class:`~plano_asgi.gateway.upstream.UpstreamResponse`): the gateway's own
:class:`~plano_asgi.outbound.AiohttpClient` by default (the measured choice,
``bench/results/http_clients.md``), or the client you pass to
:class:`~plano_asgi.gateway.app.ModelGateway`.

Calls raise the seam's errors (:class:`~plano_asgi.errors.OutboundError` and its subclasses)
or ``TimeoutError``; bodies are relayed raw (``decode=False``: the gateway asks providers
for identity and passes on whatever encoding they chose).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import httpx2

from plano_asgi.config import HopTimeouts
from plano_asgi.gateway.upstream import UpstreamResponse
from plano_asgi.outbound.seam import HttpClient, Phases, Reply

__all__ = ["ProviderCalls"]


def _phases(timeouts: HopTimeouts) -> Phases:
    # Each read may take max(first_byte, idle); the gateway adds the shorter bounds itself
    # (see plano_asgi.gateway.upstream).
    return Phases(connect=timeouts.connect, read=max(timeouts.first_byte, timeouts.idle))


class _Response:
    """A seam reply as the gateway reads it (see :class:`UpstreamResponse`)."""

    __slots__ = ("_opened", "_reply", "headers", "status_code")

    def __init__(self, reply: Reply, opened: AbstractAsyncContextManager[Reply]) -> None:
        self._reply = reply
        self._opened = opened
        self.status_code: int = reply.status
        self.headers = httpx2.Headers(reply.headers)

    def aiter_raw(self) -> AsyncIterator[bytes]:
        return self._reply.chunks()

    async def aclose(self) -> None:
        await self._opened.__aexit__(None, None, None)


class ProviderCalls:
    """Provider POSTs through ``client`` (closed by whoever made it, not here)."""

    __slots__ = ("client",)

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    async def post(
        self, url: str, headers: dict[str, str], content: bytes, timeouts: HopTimeouts
    ) -> UpstreamResponse:
        """POST ``content``; a ``host`` entry in ``headers`` also sets the TLS (SNI) name.

        Returns once the response head arrived; the caller closes it (``aclose``).
        """
        opened = self.client.open(
            "POST", url, headers=headers, body=content, phases=_phases(timeouts), decode=False
        )
        reply = await opened.__aenter__()
        return _Response(reply, opened)
