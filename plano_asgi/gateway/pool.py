"""The gateway's own HTTP transport: several small connection pools instead of one big one.

httpcore's pool re-scans every connection and every waiting request on each request and
response; with dozens of concurrent provider calls in one pool that bookkeeping, plus the
retries it causes when two requests race for one connection, dominates the gateway's CPU
(measured: 341 requests/s and p99 640 ms at 64 concurrent calls with one pool, 595
requests/s and p99 170 ms with 16; see ``bench/gateway_overhead.py``). Spreading requests
round-robin over shards keeps each pool small. Connections are still reused within a
shard, so the number of open connections stays bounded by ``limits``.
"""

from __future__ import annotations

import itertools
import ssl

import httpx

__all__ = ["ShardedTransport"]


class ShardedTransport(httpx.AsyncBaseTransport):
    """``shards`` independent ``httpx.AsyncHTTPTransport`` pools used in turn."""

    def __init__(
        self,
        *,
        shards: int = 16,
        max_connections: int = 1024,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        per_shard = max(1, max_connections // shards)
        limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        # One CA bundle in memory, not one per shard.
        context = ssl_context or httpx.create_ssl_context()
        self._shards = [
            httpx.AsyncHTTPTransport(limits=limits, verify=context) for _ in range(shards)
        ]
        self._next = itertools.cycle(self._shards)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._next).handle_async_request(request)

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()
