"""The default :class:`~plano_asgi.outbound.seam.HttpClient`: one ``aiohttp`` session per owner.

Chosen by measurement (``bench/http_clients.py``, ``bench/results/http_clients.md``): about a
third of httpx2's CPU per call and 2-4x its throughput at 64 concurrent calls. What the
session gives every caller:

* proxies from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY``, read once
  when the client is made and resolved once per origin (``trust_env=False`` ignores them);
* the TLS context passed in (else aiohttp's default trust);
* connection limits and keep-alive expiry; no cookies kept; no redirects followed;
* header values with CR/LF refused before anything is sent (``OutboundRequestError``);
* no reuse of a connection the server will close (HTTP/1.0, ``connection: close``), and a
  malformed ``content-length`` rejected with that connection closed.

``decode`` is chosen per call (aiohttp's per-request ``auto_decompress``), so one client
serves the gateway's raw provider relay and the decoded filter and router calls alike.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from plano_asgi.errors import (
    OutboundConnectError,
    OutboundProtocolError,
    OutboundReadError,
    OutboundRequestError,
)
from plano_asgi.outbound.seam import DEFAULT_PHASES, Phases

__all__ = ["AiohttpClient"]


def _bypass(host: str, proxies: dict[str, str]) -> bool:
    # The standard library's NO_PROXY rules (not in its type stubs).
    check: Any = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009
    return bool(check(host, proxies))


def _sni(headers: Mapping[str, str]) -> str | None:
    host = headers.get("host")
    if not host:
        return None
    return host if host.endswith("]") else host.rsplit(":", 1)[0]


class _AiohttpReply:
    """An aiohttp response as the seam's :class:`~plano_asgi.outbound.seam.Reply`."""

    __slots__ = ("_response", "complete", "headers", "status")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.complete = False
        self.status = response.status
        self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]

    async def chunks(self) -> AsyncIterator[bytes]:
        # One item per piece as it arrives, so a bad event after a good one still reaches
        # the reader after the good one went out.
        try:
            async for chunk, _ in self._response.content.iter_chunks():
                yield chunk
        except aiohttp.ClientPayloadError as exc:
            raise OutboundProtocolError(f"body broken off: {exc}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise OutboundReadError(f"{type(exc).__name__} mid-body") from exc
        self.complete = True

    def close(self) -> None:
        # A body read to the end lets the connection go back to the pool (aiohttp still
        # closes it when the server said so); anything else closes it.
        if self.complete:
            self._response.release()
        else:
            self._response.close()


class AiohttpClient:
    """Calls through one aiohttp session (see the module doc); close it with :meth:`aclose`."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        trust_env: bool = True,
        max_connections: int = 1024,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._ssl = ssl_context
        self._limit = max_connections
        self._keepalive = keepalive_expiry
        self._env_proxies = urllib.request.getproxies_environment() if trust_env else {}
        self._proxy_for: dict[tuple[str, str], str | None] = {}
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` ran."""
        return self._closed

    def _proxy(self, url: str) -> str | None:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key in self._proxy_for:
            return self._proxy_for[key]
        proxies = self._env_proxies
        proxy = proxies.get(parts.scheme) or proxies.get("all")
        if proxy and "no" in proxies and _bypass(parts.hostname or "", proxies):
            proxy = None
        if len(self._proxy_for) < 1024:
            self._proxy_for[key] = proxy
        return proxy

    def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limit,
            limit_per_host=0,
            keepalive_timeout=self._keepalive,
            ssl=self._ssl if self._ssl is not None else True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,  # proxies are resolved once per origin in _proxy
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        return self._session

    def open(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes = b"",
        phases: Phases = DEFAULT_PHASES,
        decode: bool = True,
    ) -> _Opened:
        return _Opened(self, method, url, headers, body, phases, decode)

    async def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        phases: Phases,
        decode: bool,
    ) -> _AiohttpReply:
        session = self._session or self._open_session()
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=phases.connect, sock_read=phases.read
        )
        options: dict[str, Any] = {}
        if (sni := _sni(headers)) is not None:
            options["server_hostname"] = sni
        try:
            response = await session.request(
                method,
                url,
                data=body,
                headers=dict(headers),
                timeout=timeout,
                proxy=self._proxy(url),
                allow_redirects=False,
                auto_decompress=decode,
                **options,
            )
        except TimeoutError:
            raise
        except aiohttp.ClientConnectorCertificateError as exc:
            raise OutboundConnectError("TLS certificate") from exc.certificate_error
        except (aiohttp.ClientConnectorError, aiohttp.ClientProxyConnectionError) as exc:
            raise OutboundConnectError(type(exc).__name__) from exc
        except aiohttp.ClientResponseError as exc:  # a malformed response head
            raise OutboundProtocolError(f"malformed response: {exc.message}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise OutboundReadError(f"{type(exc).__name__} before the response") from exc
        except ValueError as exc:  # aiohttp refuses CR/LF and other control characters
            raise OutboundRequestError(f"invalid request header: {exc}") from exc
        return _AiohttpReply(response)

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
            await asyncio.sleep(0)  # let aiohttp finish closing its transports


class _Opened:
    """One :meth:`AiohttpClient.open` call: sends on enter, closes the reply on exit.

    A plain class rather than ``@asynccontextmanager``: it is entered once per provider call
    and per agent turn, and may be exited from another task than the one that entered it
    (the gateway hands a streaming reply to its relay).
    """

    __slots__ = ("_args", "_client", "_reply")

    def __init__(
        self,
        client: AiohttpClient,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        phases: Phases,
        decode: bool,
    ) -> None:
        self._client = client
        self._args = (method, url, headers, body, phases, decode)
        self._reply: _AiohttpReply | None = None

    async def __aenter__(self) -> _AiohttpReply:
        self._reply = await self._client._send(*self._args)
        return self._reply

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        reply, self._reply = self._reply, None
        if reply is not None:
            reply.close()
