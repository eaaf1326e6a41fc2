"""Outbound HTTP: the seam every call of the servers goes through, and the httpx2 builders.

**The seam** (:mod:`plano_asgi.outbound.seam`): :class:`HttpClient` opens one request and
gives back status, headers and the body as chunks, decoded or raw per call, with failures in
one vocabulary (:class:`~plano_asgi.errors.OutboundError`, ``TimeoutError``). Every outbound
call of the gateway and the agent listener goes through it: provider calls, the hop to
agents, HTTP filters, the orchestrator and preference routers' model calls. Each component
owns one client. Implementations:

* :class:`AiohttpClient`, the default (measured: about a third of httpx2's CPU per call and
  2-4x its throughput at 64 concurrent calls, ``bench/results/http_clients.md``);
* :class:`HttpxClient`, over an ``httpx2.AsyncClient`` you pass as ``client=``
  (:func:`as_http_client` wraps one); tests plug in there with ``httpx2.ASGITransport``
  or ``httpx2.MockTransport``, or implement :class:`HttpClient` themselves.

**The httpx2 builders** (:func:`outbound_client`, :func:`outbound_sync_client`): for the
clients that must be httpx2 because a third-party SDK or a blocking caller needs one: the
SDK's OpenAI client and gateway calls, the CLI's requests to our own servers. httpx2 is a
hard dependency anyway (``openai``, ``anthropic`` and ``mcp`` are built on it; the MCP
SDK's streamable-HTTP transport brings its own client). What they share with the seam's
default:

* **proxies from the environment**: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` and
  ``NO_PROXY`` are honoured (``trust_env``), unless a ``transport`` is given;
* **TLS**: the ``verify`` context you pass, else httpx2's default (``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR``, else the system's trust store);
* **no redirects, no cookies kept between calls** (a gateway forwards, it is no browser);
* **limits**: up to :data:`MAX_CONNECTIONS` open connections, :data:`MAX_KEEPALIVE` idle
  ones kept for :data:`KEEPALIVE_EXPIRY` seconds.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING

import httpx2

from plano_asgi import _lazy

if TYPE_CHECKING:
    from plano_asgi.outbound.aiohttp_client import AiohttpClient
    from plano_asgi.outbound.httpx_client import HttpxClient, as_http_client
    from plano_asgi.outbound.seam import HttpClient, Phases, Reply

__all__ = [
    "DEFAULT_TIMEOUT",
    "AiohttpClient",
    "HttpClient",
    "HttpxClient",
    "Phases",
    "Reply",
    "KEEPALIVE_EXPIRY",
    "as_http_client",
    "MAX_CONNECTIONS",
    "MAX_KEEPALIVE",
    "outbound_client",
    "outbound_sync_client",
]

MAX_CONNECTIONS = 1024
MAX_KEEPALIVE = 256
KEEPALIVE_EXPIRY = 5.0
#: For calls without a hop of their own: connect quickly, give answers a minute.
DEFAULT_TIMEOUT = httpx2.Timeout(60.0, connect=5.0)


def _no_cookies() -> httpx2.Cookies:
    """A cookie jar that keeps nothing: one caller's cookies never reach another's call."""
    cookies = httpx2.Cookies()
    cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return cookies


def _limits() -> httpx2.Limits:
    return httpx2.Limits(
        max_connections=MAX_CONNECTIONS,
        max_keepalive_connections=MAX_KEEPALIVE,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )


def outbound_client(
    *,
    timeout: httpx2.Timeout | float | None = DEFAULT_TIMEOUT,
    verify: ssl.SSLContext | bool = True,
    transport: httpx2.AsyncBaseTransport | None = None,
    headers: Mapping[str, str] | None = None,
    base_url: str = "",
    trust_env: bool = True,
    request_hooks: Sequence[Callable[[httpx2.Request], Awaitable[None]]] = (),
) -> httpx2.AsyncClient:
    """A new async client with the project's settings (see the module doc); you close it.

    ``transport`` replaces the network (tests: ``httpx2.ASGITransport``,
    ``httpx2.MockTransport``); proxies from the environment apply only without it.
    ``trust_env=False`` ignores the proxy variables (calls to this machine's own servers).
    ``request_hooks`` run on every request before it is sent (e.g. to add trace headers).
    """
    return httpx2.AsyncClient(
        event_hooks={"request": list(request_hooks)} if request_hooks else None,
        timeout=timeout,
        verify=verify,
        transport=transport,
        headers=headers,
        base_url=base_url,
        limits=_limits(),
        trust_env=trust_env,
        follow_redirects=False,
        cookies=_no_cookies(),
    )


def outbound_sync_client(
    *,
    timeout: httpx2.Timeout | float | None = DEFAULT_TIMEOUT,
    transport: httpx2.BaseTransport | None = None,
    trust_env: bool = True,
) -> httpx2.Client:
    """The blocking twin of :func:`outbound_client`, for the CLI; you close it."""
    return httpx2.Client(
        timeout=timeout,
        transport=transport,
        limits=_limits(),
        trust_env=trust_env,
        follow_redirects=False,
        cookies=_no_cookies(),
    )


# The seam's classes load on first use: the SDK's httpx2 builders above need none of them.
__getattr__, __dir__ = _lazy.lazy_exports(
    __name__,
    {
        "AiohttpClient": "plano_asgi.outbound.aiohttp_client",
        "HttpClient": "plano_asgi.outbound.seam",
        "HttpxClient": "plano_asgi.outbound.httpx_client",
        "Phases": "plano_asgi.outbound.seam",
        "Reply": "plano_asgi.outbound.seam",
        "as_http_client": "plano_asgi.outbound.httpx_client",
    },
)
