"""A lean HTTP/1.1 client for provider calls: the gateway's hot path.

Why not httpx here: on the bench machine an httpx request costs the calling process about
0.8 ms of CPU against about 0.1 ms for a plain keep-alive HTTP/1.1 exchange, and its
connection pool re-scans every connection on every request, which dominates at dozens of
concurrent calls (``bench/gateway_overhead.py``). A provider call is always the same
shape (one POST with a small JSON body, a JSON or SSE answer), so the few things it needs
fit in this module: keep-alive pooling per origin, TLS (with the gateway's CA bundle, see
:mod:`plano_asgi.gateway.tls`), a Host/SNI override (a ``host`` entry in the request
headers: the provider's ``http_host``), ``content-length``, ``chunked`` and
close-delimited bodies. Failures raise httpx's exception classes (``ConnectError``,
``ReadError``, ``RemoteProtocolError``) so the rest of the gateway handles both clients
alike. The gateway falls back to httpx when you inject a client or proxies are set in the
environment.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import anyio
import httpx

__all__ = ["Http1Pool", "Http1Response"]

_MAX_HEAD = 64 * 1024
_READ = 65536
_Key = tuple[str, str, int, str | None]
"""Pool key: scheme, host, port, and the SNI/Host override (``None`` without one)."""


@dataclass(frozen=True, slots=True)
class _Origin:
    scheme: str
    host: str
    port: int
    target: str
    """Path and query of the URL."""
    host_header: str


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class Http1Pool:
    """Keep-alive connections per origin, reused most-recent-first."""

    def __init__(
        self,
        *,
        max_idle_per_origin: int = 256,
        keepalive_expiry: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._idle: dict[_Key, list[_Connection]] = {}
        self._origins: dict[str, _Origin] = {}
        self._max_idle = max_idle_per_origin
        self._expiry = keepalive_expiry
        self._ssl = ssl_context

    def _origin(self, url: str) -> _Origin:
        origin = self._origins.get(url)
        if origin is None:
            parts = urlsplit(url)
            secure = parts.scheme == "https"
            port = parts.port or (443 if secure else 80)
            host = parts.hostname or ""
            default = port == (443 if secure else 80)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            origin = _Origin(
                parts.scheme, host, port, target, host if default else f"{host}:{port}"
            )
            if len(self._origins) < 1024:
                self._origins[url] = origin
        return origin

    def _take(self, key: _Key) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < self._expiry and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    def release(self, key: _Key, conn: _Connection) -> None:
        """Put a connection whose response was read to the end back in the pool."""
        idle = self._idle.setdefault(key, [])
        if len(idle) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    async def _connect(self, origin: _Origin, sni: str | None, seconds: float) -> _Connection:
        context = None
        if origin.scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            context = self._ssl
        try:
            with anyio.fail_after(seconds):
                reader, writer = await asyncio.open_connection(
                    origin.host,
                    origin.port,
                    ssl=context,
                    server_hostname=sni if context is not None else None,
                    limit=_MAX_HEAD,
                )
        except TimeoutError:
            raise  # a subclass of OSError, but the caller reports timeouts as such
        except ssl.SSLError as exc:  # never fall back to plain text or skip verification
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc.reason}") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc
        return _Connection(reader, writer)

    async def post(
        self,
        url: str,
        headers: dict[str, str],
        body: bytes,
        *,
        connect_timeout: float,
        first_byte_timeout: float,
    ) -> Http1Response:
        """Send one POST and return once the response head arrived.

        ``connect_timeout`` bounds the connection setup; ``first_byte_timeout`` runs from
        the moment the request is sent until the head arrived, and the response's
        ``first_byte_deadline`` carries it on for the first body bytes. A kept-alive
        connection the server closed meanwhile is detected by the failed exchange and the
        request is sent once more on a fresh connection. A ``host`` entry in ``headers``
        replaces the Host header and, over TLS, the SNI name the certificate is checked
        against (connections are pooled per name).
        """
        origin = self._origin(url)
        host = headers.get("host")
        sni = host.rsplit(":", 1)[0] if host and not host.endswith("]") else host
        key = (origin.scheme, origin.host, origin.port, sni)
        lines = [f"POST {origin.target} HTTP/1.1", f"host: {host or origin.host_header}"]
        lines.extend(f"{name}: {value}" for name, value in headers.items() if name != "host")
        lines.append(f"content-length: {len(body)}")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        for attempt in (0, 1):
            conn = self._take(key)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(origin, sni, connect_timeout)
            deadline = anyio.current_time() + first_byte_timeout
            try:
                with anyio.fail_at(deadline):
                    conn.writer.write(payload)
                    await conn.writer.drain()
                    status, raw_headers = await _read_head(conn.reader)
            except TimeoutError:
                conn.close()
                raise
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                conn.close()
                if reused and attempt == 0:
                    continue
                raise httpx.ReadError(f"{type(exc).__name__} before the response") from exc
            except BaseException:
                conn.close()
                raise
            response = Http1Response(self, key, conn, status, raw_headers)
            response.first_byte_deadline = deadline
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        """Close every idle connection."""
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, list[tuple[bytes, bytes]]]:
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        try:
            status = int(lines[0].split(b" ", 2)[1])
        except (IndexError, ValueError):
            raise httpx.RemoteProtocolError("malformed status line") from None
        if 100 <= status < 200:
            continue  # interim response
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if sep:
                headers.append((name.strip().lower(), value.strip()))
        return status, headers


class Http1Response:
    """A response whose body you read with :meth:`aiter_raw` and then :meth:`aclose`."""

    def __init__(
        self,
        pool: Http1Pool,
        key: _Key,
        conn: _Connection,
        status: int,
        raw_headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.status_code = status
        self.headers = httpx.Headers(raw_headers)
        self.first_byte_deadline = float("inf")
        """When the first body bytes must have arrived (``anyio.current_time`` clock)."""
        self._pool = pool
        self._key = key
        self._conn: _Connection | None = conn
        self._complete = False
        framing: Literal["length", "chunked", "close", "none"] = "close"
        self._length = 0
        keep = True
        for name, value in raw_headers:
            if name == b"transfer-encoding" and b"chunked" in value.lower():
                framing = "chunked"
            elif name == b"content-length" and framing != "chunked":
                framing = "length"
                self._length = int(value)
            elif name == b"connection" and value.lower() == b"close":
                keep = False
        if status in (204, 304):
            framing = "none"
        self._framing = framing
        self._reusable = keep and self._framing != "close"

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        """The body as it arrives (chunked framing removed)."""
        conn = self._conn
        if conn is None:
            return
        reader = conn.reader
        try:
            if self._framing == "length":
                remaining = self._length
                while remaining:
                    data = await reader.read(min(_READ, remaining))
                    if not data:
                        raise httpx.RemoteProtocolError("connection closed mid-body")
                    remaining -= len(data)
                    yield data
            elif self._framing == "chunked":
                while True:
                    line = await reader.readuntil(b"\r\n")
                    size = int(line.split(b";", 1)[0].strip(), 16)
                    if size == 0:
                        while await reader.readuntil(b"\r\n") != b"\r\n":
                            pass  # trailers
                        break
                    while size:
                        data = await reader.read(min(_READ, size))
                        if not data:
                            raise httpx.RemoteProtocolError("connection closed mid-chunk")
                        size -= len(data)
                        yield data
                    await reader.readexactly(2)
            elif self._framing == "close":
                while data := await reader.read(_READ):
                    yield data
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise httpx.ReadError(f"{type(exc).__name__} mid-body") from exc
        except ValueError as exc:
            raise httpx.RemoteProtocolError("malformed chunked body") from exc
        self._complete = True

    async def aclose(self) -> None:
        """Return the connection to the pool if the body was read to the end, else close it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._reusable and (self._complete or self._framing == "none"):
            self._pool.release(self._key, conn)
        else:
            conn.close()
