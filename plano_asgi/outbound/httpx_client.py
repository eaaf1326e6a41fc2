"""An :class:`~plano_asgi.outbound.seam.HttpClient` over an ``httpx2.AsyncClient`` you own.

For callers that hand us their own client (``client=`` on the listener and gateway setups:
their pool, proxies and TLS; tests with ``httpx2.ASGITransport`` or ``httpx2.MockTransport``).
httpx2's exceptions are mapped to the seam's (:mod:`plano_asgi.errors`); the client is not
closed here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx2

from plano_asgi.errors import (
    OutboundConnectError,
    OutboundError,
    OutboundProtocolError,
    OutboundReadError,
    OutboundRequestError,
)
from plano_asgi.outbound.seam import DEFAULT_PHASES, HttpClient, Phases

__all__ = ["HttpxClient", "as_http_client", "outbound_error"]


def outbound_error(exc: httpx2.HTTPError) -> OutboundError | TimeoutError:
    """The seam's error for one of httpx2's."""
    what = type(exc).__name__
    if isinstance(exc, httpx2.TimeoutException):
        return TimeoutError(what)
    if isinstance(exc, httpx2.ConnectError | httpx2.ProxyError):
        return OutboundConnectError(what)
    if isinstance(exc, httpx2.LocalProtocolError | httpx2.UnsupportedProtocol):
        return OutboundRequestError(what)
    if isinstance(exc, httpx2.RemoteProtocolError | httpx2.DecodingError):
        return OutboundProtocolError(what)
    return OutboundReadError(what)


class _HttpxReply:
    __slots__ = ("_decode", "_response", "headers", "status")

    def __init__(self, response: httpx2.Response, decode: bool) -> None:
        self._response = response
        self._decode = decode
        self.status = response.status_code
        self.headers = list(response.headers.multi_items())

    async def chunks(self) -> AsyncIterator[bytes]:
        source = self._response.aiter_bytes() if self._decode else self._response.aiter_raw()
        try:
            async for chunk in source:
                yield chunk
        except httpx2.HTTPError as exc:
            raise outbound_error(exc) from exc


class HttpxClient:
    """Outbound calls through ``client`` (yours: not closed by :meth:`aclose`)."""

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.client = client

    @asynccontextmanager
    async def open(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes = b"",
        phases: Phases = DEFAULT_PHASES,
        decode: bool = True,
    ) -> AsyncIterator[_HttpxReply]:
        sni = headers.get("host")
        if sni and not sni.endswith("]"):
            sni = sni.rsplit(":", 1)[0]
        request = self.client.build_request(
            method,
            url,
            headers=dict(headers),
            content=body,
            timeout=httpx2.Timeout(
                connect=phases.connect, read=phases.read, write=phases.connect, pool=phases.connect
            ),
            extensions={"sni_hostname": sni} if sni else None,
        )
        try:
            response = await self.client.send(request, stream=True)
        except httpx2.HTTPError as exc:
            raise outbound_error(exc) from exc
        try:
            yield _HttpxReply(response, decode)
        finally:
            await response.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether your client is closed (:meth:`aclose` leaves it open)."""
        return self.client.is_closed

    async def aclose(self) -> None:
        return None


def as_http_client(client: HttpClient | httpx2.AsyncClient) -> HttpClient:
    """``client`` as the seam: an ``httpx2.AsyncClient`` is wrapped (and stays yours)."""
    return HttpxClient(client) if isinstance(client, httpx2.AsyncClient) else client
