"""The gateway's provider calls: one POST through the outbound seam, its answer as raw chunks.

A thin adapter from :class:`plano_asgi.outbound.HttpClient` to what the gateway reads
(:class:`~plano_asgi.gateway.upstream.UpstreamResponse`):

* :class:`AiohttpProviderClient`, the default: an :class:`~plano_asgi.outbound.AiohttpClient`
  the gateway owns (the measured choice, ``bench/results/http_clients.md``);
* :class:`HttpxProviderClient`: the ``httpx2.AsyncClient`` you pass as ``client=`` to
  :class:`~plano_asgi.gateway.app.ModelGateway`, through :class:`~plano_asgi.outbound.HttpxClient`.

Both raise the seam's errors (:class:`~plano_asgi.errors.OutboundError` and its subclasses)
or ``TimeoutError``; bodies are relayed raw (the gateway asks providers for identity).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any, Protocol

import httpx2

from plano_asgi.config import HopTimeouts
from plano_asgi.gateway.upstream import UpstreamResponse
from plano_asgi.outbound import KEEPALIVE_EXPIRY, MAX_CONNECTIONS, AiohttpClient, HttpxClient
from plano_asgi.outbound.seam import Phases

__all__ = ["AiohttpProviderClient", "HttpxProviderClient", "ProviderClient"]


class ProviderClient(Protocol):
    """Sends one provider request and returns once the response head arrived."""

    async def post(
        self, url: str, headers: dict[str, str], content: bytes, timeouts: HopTimeouts
    ) -> UpstreamResponse:
        """POST ``content``; a ``host`` entry in ``headers`` also sets the TLS (SNI) name."""
        ...

    async def aclose(self) -> None:
        """Close the connections this client owns."""
        ...


def _phases(timeouts: HopTimeouts) -> Phases:
    # Each read may take max(first_byte, idle); the gateway adds the shorter bounds itself
    # (see plano_asgi.gateway.upstream).
    return Phases(connect=timeouts.connect, read=max(timeouts.first_byte, timeouts.idle))


class _Response:
    """A seam reply as the gateway reads it (see :class:`UpstreamResponse`)."""

    __slots__ = ("_close", "_reply", "headers", "status_code")

    def __init__(self, reply: Any, close: Any) -> None:
        self._reply = reply
        self._close = close
        self.status_code: int = reply.status
        self.headers = httpx2.Headers(reply.headers)

    def aiter_raw(self) -> AsyncIterator[bytes]:
        chunks: AsyncIterator[bytes] = self._reply.chunks()
        return chunks

    async def aclose(self) -> None:
        await self._close()


class HttpxProviderClient:
    """Provider calls through an ``httpx2.AsyncClient`` that you own (not closed here)."""

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.client = client
        self._seam = HttpxClient(client)

    async def post(
        self, url: str, headers: dict[str, str], content: bytes, timeouts: HopTimeouts
    ) -> UpstreamResponse:
        reply, response = await self._seam.send(
            "POST", url, headers=headers, body=content, phases=_phases(timeouts)
        )
        return _Response(reply, response.aclose)

    async def aclose(self) -> None:
        return None


class AiohttpProviderClient:
    """The gateway's own provider client; close it with :meth:`aclose`.

    ``ssl_context`` is the CA trust for HTTPS providers
    (:func:`plano_asgi.gateway.tls.upstream_ssl_context`). ``trust_env=False`` ignores the
    proxy variables.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        trust_env: bool = True,
        max_connections: int = MAX_CONNECTIONS,
        keepalive_expiry: float = KEEPALIVE_EXPIRY,
    ) -> None:
        self._seam = AiohttpClient(
            ssl_context=ssl_context,
            trust_env=trust_env,
            max_connections=max_connections,
            keepalive_expiry=keepalive_expiry,
        )

    async def post(
        self, url: str, headers: dict[str, str], content: bytes, timeouts: HopTimeouts
    ) -> UpstreamResponse:
        reply = await self._seam.send(
            "POST", url, headers=headers, body=content, phases=_phases(timeouts)
        )

        async def close() -> None:
            reply.close()

        return _Response(reply, close)

    async def aclose(self) -> None:
        await self._seam.aclose()
