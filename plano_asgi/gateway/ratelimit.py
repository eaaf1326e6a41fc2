"""Input-token rate limits (``ratelimits[]``), in process.

Our semantics, which fix Plano's rough edges (spec §4.8, §10.21):

* A rule applies to a target when its ``model`` equals the provider's full model
  (``openai/gpt-4o``), its bare id (``gpt-4o``) or its ``name``.
* The rule's ``selector.key`` is a request header name. A request is limited by the rule
  when it carries that header (Plano clients additionally send
  ``x-arch-ratelimit-selector: <key>``; we accept that but do not require it). With
  ``value: "*"`` every distinct header value gets its own bucket; otherwise only requests
  whose header equals ``value`` are limited, sharing one bucket. Requests without the
  header are not limited by the rule.
* Each bucket holds ``limit.tokens`` and refills continuously over one ``unit``.
* Input tokens are estimated without a tokenizer: a quarter of the characters of every
  string in the messages/system/tools, plus 4 per message (:func:`estimate_tokens`).

The limiter sits behind :class:`TokenLimiter` so a shared backend (Redis) can replace the
in-memory one later.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from plano_asgi.config import ModelProvider, RateLimit
from plano_asgi.errors import RateLimitedError

__all__ = ["MemoryTokenLimiter", "RateLimiter", "TokenLimiter", "estimate_tokens"]

_UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


@dataclass(frozen=True, slots=True)
class Grant:
    """The outcome of one take: allowed or not, what remains, and when to come back."""

    allowed: bool
    remaining: int
    retry_after: float


class TokenLimiter(Protocol):
    """A store of token buckets: the seam for a shared backend."""

    async def take(self, key: str, tokens: int, capacity: int, period: float) -> Grant:
        """Take ``tokens`` from bucket ``key`` (``capacity`` refilled per ``period`` seconds)."""
        ...


class MemoryTokenLimiter:
    """Token buckets in a dict: exact for one process, not shared between processes.

    Memory stays bounded under a flood of distinct keys (a limit keyed on a client header
    with ``value: "*"``): a bucket that has refilled is the same as no bucket and is
    dropped by a sweep every ``sweep_every`` takes; past ``max_buckets`` the least recently
    used buckets go too (their clients start again from a full bucket).
    """

    def __init__(
        self,
        clock: Any = time.monotonic,
        *,
        max_buckets: int = 100_000,
        sweep_every: int = 1024,
    ) -> None:
        self._clock = clock
        self._max = max_buckets
        self._sweep_every = sweep_every
        self._takes = 0
        # key -> (level, stamp, when it is full again); insertion order = least recent first
        self._buckets: dict[str, tuple[float, float, float]] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    async def take(self, key: str, tokens: int, capacity: int, period: float) -> Grant:
        now = self._clock()
        rate = capacity / period
        level, stamp, _ = self._buckets.pop(key, (float(capacity), now, now))
        level = min(float(capacity), level + (now - stamp) * rate)
        allowed = tokens <= level
        if allowed:
            level -= tokens
        self._buckets[key] = (level, now, now + (capacity - level) / rate)
        self._takes += 1
        if self._takes % self._sweep_every == 0 or len(self._buckets) > self._max:
            self._sweep(now)
        if allowed:
            return Grant(True, int(level), 0.0)
        wait = (min(tokens, capacity) - level) / rate if tokens <= capacity else period
        return Grant(False, int(level), wait)

    def _sweep(self, now: float) -> None:
        full = [key for key, (_, _, full_at) in self._buckets.items() if full_at <= now]
        for key in full:
            del self._buckets[key]
        excess = len(self._buckets) - self._max
        if excess > 0:
            for key in list(self._buckets)[:excess]:
                del self._buckets[key]


def estimate_tokens(body: Mapping[str, Any]) -> int:
    """A tokenizer-free estimate of a request's input tokens (about 4 characters a token)."""
    chars = 0
    count = 0
    for key in ("messages", "system", "tools", "input"):
        value = body.get(key)
        if value is None:
            continue
        if key == "messages" and isinstance(value, list):
            count += len(value)
        chars += _chars(value)
    return math.ceil(chars / 4) + 4 * count


def _chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return sum(_chars(item) for item in value.values())
    if isinstance(value, list):
        return sum(_chars(item) for item in value)
    return 0


class RateLimiter:
    """Applies the config's ``ratelimits`` to requests before a provider is called."""

    def __init__(self, rules: tuple[RateLimit, ...], store: TokenLimiter | None = None) -> None:
        self._rules = rules
        self._store = store or MemoryTokenLimiter()

    def __bool__(self) -> bool:
        return bool(self._rules)

    async def check(
        self, provider: ModelProvider, headers: Mapping[str, str], body: Mapping[str, Any]
    ) -> None:
        """Charge the request's estimated input tokens; raise :class:`RateLimitedError`."""
        names = {provider.model, provider.model_id, provider.display_name}
        tokens: int | None = None
        for index, rule in enumerate(self._rules):
            if rule.model not in names:
                continue
            value = headers.get(rule.selector.key.lower())
            if value is None or (rule.selector.value != "*" and value != rule.selector.value):
                continue
            if tokens is None:
                tokens = estimate_tokens(body)
            capacity = rule.limit.tokens
            period = _UNIT_SECONDS[rule.limit.unit]
            grant = await self._store.take(f"{index}:{value}", tokens, capacity, period)
            if not grant.allowed:
                raise RateLimitedError(
                    f"Token rate limit exceeded for model '{rule.model}' "
                    f"({rule.selector.key}={value}): this request needs about {tokens} tokens, "
                    f"{grant.remaining} of {capacity} per {rule.limit.unit} remain.",
                    retry_after=grant.retry_after,
                    limit=capacity,
                    remaining=grant.remaining,
                    reset=grant.retry_after,
                )
