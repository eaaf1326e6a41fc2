"""The gateway's provider calls on the wire: one POST, its answer read as raw chunks.

Two implementations of one small :class:`ProviderClient` protocol:

* :class:`AiohttpProviderClient`, the default: an ``aiohttp`` session the gateway owns;
* :class:`HttpxProviderClient`: the ``httpx2.AsyncClient`` you pass as ``client=`` to
  :class:`~plano_asgi.gateway.app.ModelGateway` (tests: with ``httpx2.ASGITransport`` or
  ``httpx2.MockTransport``; apps: your own pool, proxies, TLS).

Why aiohttp on the provider path, measured with ``bench/http_clients.py`` on the 2-core
bench machine, all clients in one run (``bench/results/http_clients.md``): one call costs the
calling process about 0.13-0.19 ms of CPU with aiohttp against 0.4-0.7 ms with httpx2 (and
0.08-0.13 ms with the hand-written client this replaced), and at 64 concurrent calls
aiohttp keeps 3,600-6,000 requests/s against 870-1,700. In the gateway itself (its ASGI
app called in process, CPU per call, interleaved runs; ``bench/results/gateway.md``)
httpx2 on this path added more than twice what aiohttp adds over the old client.
Every other outbound call of the package uses httpx2 (:mod:`plano_asgi.outbound`).

Both raise httpx2's exception classes (``ConnectError``, ``ReadError``,
``RemoteProtocolError``, ``LocalProtocolError``) or ``TimeoutError``, so the rest of the
gateway handles them alike. What aiohttp gives the gateway here: proxies from
``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` (read once when the session is made, not
per request), a response parser that rejects a malformed ``content-length`` and closes
that connection, no reuse of a connection the server will close (HTTP/1.0,
``connection: close``), and header values with CR/LF refused before anything is sent.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import AsyncIterator
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import httpx2

from plano_asgi.config import HopTimeouts
from plano_asgi.gateway.upstream import UpstreamResponse
from plano_asgi.outbound import KEEPALIVE_EXPIRY, MAX_CONNECTIONS, hop_timeout

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


def _sni(headers: dict[str, str]) -> str | None:
    host = headers.get("host")
    if not host:
        return None
    return host if host.endswith("]") else host.rsplit(":", 1)[0]


def _bypass(host: str, proxies: dict[str, str]) -> bool:
    # The standard library's NO_PROXY rules (not in its type stubs).
    check: Any = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009
    return bool(check(host, proxies))


class HttpxProviderClient:
    """Provider calls through an ``httpx2.AsyncClient`` that you own (not closed here)."""

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.client = client

    async def post(
        self, url: str, headers: dict[str, str], content: bytes, timeouts: HopTimeouts
    ) -> UpstreamResponse:
        sni = _sni(headers)
        request = self.client.build_request(
            "POST",
            url,
            headers=headers,
            content=content,
            timeout=hop_timeout(timeouts),
            extensions={"sni_hostname": sni} if sni else None,
        )
        return await self.client.send(request, stream=True)

    async def aclose(self) -> None:
        return None


class _Response:
    """An aiohttp response as the gateway reads it (see :class:`UpstreamResponse`)."""

    __slots__ = ("_complete", "_response", "headers", "status_code")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self._complete = False
        self.status_code = response.status
        self.headers = httpx2.Headers(list(response.raw_headers))

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        # One item per HTTP chunk as it arrives, as a provider sent its events, so a bad
        # event after a good one still reaches the relay after the good one went out.
        try:
            async for chunk, _ in self._response.content.iter_chunks():
                yield chunk
        except aiohttp.ClientPayloadError as exc:
            raise httpx2.RemoteProtocolError(f"body broken off: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise httpx2.ReadError(f"{type(exc).__name__} mid-body") from exc
        self._complete = True

    async def aclose(self) -> None:
        # A body read to the end lets the connection go back to the pool (aiohttp still
        # closes it when the server said so); anything else closes it.
        if self._complete:
            self._response.release()
        else:
            self._response.close()


class AiohttpProviderClient:
    """The gateway's own provider client (see the module doc); close it with :meth:`aclose`.

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
        self._ssl = ssl_context
        self._limit = max_connections
        self._keepalive = keepalive_expiry
        self._env_proxies = urllib.request.getproxies_environment() if trust_env else {}
        self._proxy_for: dict[tuple[str, str], str | None] = {}
        self._session: aiohttp.ClientSession | None = None

    def _proxy(self, url: str) -> str | None:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._proxy_for:
            proxies = self._env_proxies
            proxy = proxies.get(parts.scheme) or proxies.get("all")
            host = parts.hostname or ""
            if proxy and "no" in proxies and _bypass(host, proxies):
                proxy = None
            if len(self._proxy_for) < 1024:
                self._proxy_for[key] = proxy
            return proxy
        return self._proxy_for[key]

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limit,
            limit_per_host=0,
            keepalive_timeout=self._keepalive,
            ssl=self._ssl if self._ssl is not None else True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # the gateway asks for identity and relays raw bytes
            trust_env=False,  # proxies are resolved once per origin in _proxy
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        return self._session

    async def post(
        self, url: str, headers: dict[str, str], content: bytes, timeouts: HopTimeouts
    ) -> UpstreamResponse:
        session = self._session or self._open()
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=timeouts.connect,
            sock_read=max(timeouts.first_byte, timeouts.idle),
        )
        options: dict[str, Any] = {}
        if (sni := _sni(headers)) is not None:
            options["server_hostname"] = sni
        try:
            response = await session.request(
                "POST",
                url,
                data=content,
                headers=headers,
                timeout=timeout,
                proxy=self._proxy(url),
                allow_redirects=False,
                **options,
            )
        except TimeoutError:
            raise
        except aiohttp.ClientConnectorCertificateError as exc:
            raise httpx2.ConnectError("TLS certificate") from exc.certificate_error
        except (aiohttp.ClientConnectorError, aiohttp.ClientProxyConnectionError) as exc:
            raise httpx2.ConnectError(f"{type(exc).__name__}") from exc
        except aiohttp.ClientResponseError as exc:  # a malformed response head
            raise httpx2.RemoteProtocolError(f"malformed response: {exc.message}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise httpx2.ReadError(f"{type(exc).__name__} before the response") from exc
        except ValueError as exc:  # aiohttp refuses CR/LF and other control characters
            raise httpx2.LocalProtocolError(f"invalid request header: {exc}") from exc
        return _Response(response)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
            await asyncio.sleep(0)  # let aiohttp finish closing its transports
