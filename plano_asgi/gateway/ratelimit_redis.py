"""Input-token rate limits shared by every gateway process through Redis.

:class:`RedisTokenLimiter` keeps the same token buckets as
:class:`~plano_asgi.gateway.ratelimit.MemoryTokenLimiter` (``capacity`` tokens, refilled
continuously over ``period`` seconds), but in Redis, so N gateway processes enforce one
budget instead of N. Each take is one Lua script: read the bucket, refill it from the
Redis server's ``TIME`` (never a client clock, so skewed hosts agree), charge or refuse,
write it back and set a TTL of one period (an idle bucket is full after one period, so
forgetting it changes nothing). Keys are ``plano:ratelimit:`` plus a SHA-256 of the bucket
key: header values used as selectors (user ids, tenant keys) never sit in Redis verbatim.

Turn it on with ``PLANO_RATELIMIT_REDIS_URL=redis://host:6379/0`` (the gateway builds it
when you inject no ``limiter``), or pass ``limiter=RedisTokenLimiter.from_url(url)``.
Needs the ``plano-asgi[redis]`` extra.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from plano_asgi.gateway.ratelimit import Grant, MemoryTokenLimiter, TokenLimiter
from plano_asgi.state.redis import connect, redis_errors

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisTokenLimiter"]

logger = logging.getLogger("plano_asgi.gateway.ratelimit")

#: KEYS[1] = bucket; ARGV = tokens, capacity, period (s), ttl (ms). Returns {allowed, level}.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local tokens = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local rate = capacity / tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'level', 'stamp')
local level = tonumber(state[1])
local stamp = tonumber(state[2])
if level == nil or stamp == nil then
  level = capacity
  stamp = now
end
level = math.min(capacity, level + math.max(0, now - stamp) * rate)
local allowed = 0
if tokens <= level then
  level = level - tokens
  allowed = 1
end
redis.call('HSET', KEYS[1], 'level', string.format('%.6f', level),
  'stamp', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {allowed, string.format('%.6f', level)}
"""


class RedisTokenLimiter:
    """Token buckets in Redis, atomic across every process that shares the server.

    When Redis is unreachable (refused, timed out, any Redis error) the limiter
    **fails open to per-process buckets**: it logs one warning, then charges a local
    :class:`MemoryTokenLimiter` (the limit multiplied by your process count, exactly as
    without Redis) and tries Redis again ``retry_interval`` seconds later, logging once
    when it is back. We chose this over failing closed (503) because the limits are a
    budget guard, not an access control: a Redis outage should not take every model
    down, and local buckets still bound a runaway client while Redis is away. Short
    socket timeouts (``from_url(timeout=)``) keep a hung Redis from stalling requests.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "plano:ratelimit:",
        retry_interval: float = 1.0,
        fallback: TokenLimiter | None = None,
        owns_client: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = client
        self._script = client.register_script(_TAKE)
        self._prefix = prefix
        self._retry_interval = retry_interval
        self._fallback = fallback or MemoryTokenLimiter()
        self._owns_client = owns_client
        self._clock = clock
        self._errors = redis_errors()
        self._down_until: float | None = None

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 0.25, **options: Any) -> RedisTokenLimiter:
        """Connect lazily to ``url`` (``redis://``, ``rediss://``, ``unix://``).

        ``timeout`` bounds each connect and reply in seconds; ``options`` go to
        :class:`RedisTokenLimiter`. The limiter owns the client: :meth:`aclose` closes it.
        """
        client = connect(url, timeout=timeout, what="PLANO_RATELIMIT_REDIS_URL")
        return cls(client, owns_client=True, **options)

    def redis_key(self, key: str) -> str:
        """The Redis key holding bucket ``key``."""
        return self._prefix + hashlib.sha256(key.encode()).hexdigest()[:32]

    async def take(self, key: str, tokens: int, capacity: int, period: float) -> Grant:
        """Take ``tokens`` from bucket ``key`` (``capacity`` refilled per ``period`` seconds)."""
        now = self._clock()
        if self._down_until is None or now >= self._down_until:
            try:
                grant = await self._take_shared(key, tokens, capacity, period)
            except self._errors as exc:
                if self._down_until is None:
                    logger.warning(
                        "rate-limit Redis unreachable (%s: %s); using per-process buckets",
                        type(exc).__name__,
                        exc,
                    )
                self._down_until = now + self._retry_interval
            else:
                if self._down_until is not None:
                    logger.warning("rate-limit Redis reachable again; buckets shared again")
                    self._down_until = None
                return grant
        return await self._fallback.take(key, tokens, capacity, period)

    async def _take_shared(self, key: str, tokens: int, capacity: int, period: float) -> Grant:
        ttl_ms = math.ceil(period * 1000) + 1000
        reply = await self._script(
            keys=[self.redis_key(key)], args=[tokens, capacity, repr(float(period)), ttl_ms]
        )
        allowed, raw_level = int(reply[0]), float(reply[1])
        if allowed:
            return Grant(True, int(raw_level), 0.0)
        rate = capacity / period
        wait = (min(tokens, capacity) - raw_level) / rate if tokens <= capacity else period
        return Grant(False, int(raw_level), wait)

    async def aclose(self) -> None:
        """Close the Redis client if :meth:`from_url` made it."""
        if self._owns_client:
            await self._redis.aclose()
