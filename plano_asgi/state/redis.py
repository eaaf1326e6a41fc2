"""``state_storage: {type: redis}`` (ours): responses in Redis, shared by every process.

Needs the ``redis`` extra (``pip install 'plano-asgi[redis]'``). Each response is one
string key, ``plano:response:<id>``, holding the :class:`~plano_asgi.state.StoredResponse`
as JSON and expiring ``ttl`` seconds after it was written (default 24 h, as in memory);
past that, Redis's own ``maxmemory`` policy decides what goes. Every worker of
``plano-asgi serve --workers N`` and every instance behind a load balancer that points at
the same Redis reads what the others wrote, so a follow-up turn can land anywhere.

Nothing connects until the first request that reads or writes state. A Redis that cannot
be reached or fails a command raises :class:`~plano_asgi.errors.StateStoreError` (a 503
envelope naming the store), and the next request tries again: conversation state is data,
so unlike the rate limiter this store never falls back to a per-process copy that would
answer with a conversation missing its turns. The URL's password never appears in errors
or logs: they name the host, port and database number only.

:func:`connect` builds the client the other Redis users share (the rate limiter and the
routing session cache): short timeouts and one immediate retry.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from plano_asgi.errors import ConfigError, ConfigIssue, MissingExtraError, StateStoreError
from plano_asgi.state.base import StoredResponse

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_TTL", "PREFIX", "RedisStore", "connect", "redis_errors", "where"]

logger = logging.getLogger("plano_asgi.state")

PREFIX = "plano:response:"
DEFAULT_TTL = 86_400.0
_SCHEMES = ("redis", "rediss", "unix")


def connect(url: str, *, timeout: float, what: str) -> Redis:
    """A lazily connecting asyncio Redis client for ``url``.

    ``timeout`` bounds each connect and each reply in seconds; one immediate retry covers a
    pooled connection Redis has closed (more, with backoff, would only stall requests while
    Redis is down). ``what`` names the feature in the error raised without the extra.
    """
    try:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
    except ImportError as exc:
        raise MissingExtraError("redis", what, exc) from exc
    client: Redis = aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )
    return client


def redis_errors() -> tuple[type[BaseException], ...]:
    """What the client raises when Redis is gone, slow or refuses a command."""
    from redis.exceptions import RedisError

    return (RedisError, OSError, TimeoutError)


def where(url: str) -> str:
    """``host:port/db`` of a Redis URL (no user, no password): what errors and logs name."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path or "(unix socket)"
    try:
        port = parts.port
    except ValueError:
        port = None
    database = parts.path.lstrip("/") or "0"
    return f"{parts.hostname or 'localhost'}:{port or 6379}/{database}"


class RedisStore:
    """A :class:`~plano_asgi.state.ConversationStore` in Redis, shared across processes.

    ``url`` is a ``redis://``, ``rediss://`` or ``unix://`` URL; ``ttl`` how long a
    response is kept after it was written; ``timeout`` bounds each Redis round trip.
    Pass ``client`` to use your own (it is then not closed here).
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        ttl: float = DEFAULT_TTL,
        timeout: float = 2.0,
        prefix: str = PREFIX,
        client: Redis | None = None,
    ) -> None:
        if urlsplit(url).scheme not in _SCHEMES:
            raise ConfigError(
                [ConfigIssue("state_storage.connection_string", "expected a redis:// URL")]
            )
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.where = where(url)
        self.ttl = ttl
        self._url = url
        self._timeout = timeout
        self._prefix = prefix
        self._owns_client = client is None
        self._client: Redis | None = client
        self._errors: tuple[type[BaseException], ...] | None = None

    def _redis(self) -> Redis:
        if self._client is None:
            self._client = connect(self._url, timeout=self._timeout, what="state_storage redis")
        if self._errors is None:
            self._errors = redis_errors()
        return self._client

    def _error(self, doing: str, exc: BaseException) -> StateStoreError:
        reason = type(exc).__name__
        logger.warning("state store: %s redis at %s (%s)", doing, self.where, reason)
        return StateStoreError(
            f"The conversation state store is unavailable: {doing} redis at {self.where} "
            f"({reason}).",
            store=self.name,
        )

    async def get(self, response_id: str) -> StoredResponse | None:
        client = self._redis()
        assert self._errors is not None
        try:
            raw = await client.get(self._prefix + response_id)
        except self._errors as exc:
            raise self._error("cannot read from", exc) from None
        if raw is None:
            return None
        return _decode(response_id, raw)

    async def put(self, response: StoredResponse) -> None:
        client = self._redis()
        assert self._errors is not None
        value = json.dumps(
            {
                "previous_response_id": response.previous_response_id,
                "model": response.model,
                "created_at": response.created_at,
                "input_items": response.input_items,
                "output_items": response.output_items,
            },
            ensure_ascii=False,
        )
        try:
            await client.set(self._prefix + response.id, value, px=max(1, int(self.ttl * 1000)))
        except self._errors as exc:
            raise self._error("cannot write to", exc) from None

    async def aclose(self) -> None:
        if self._client is not None and self._owns_client:
            client, self._client = self._client, None
            await client.aclose()


def _decode(response_id: str, raw: bytes | str) -> StoredResponse:
    record: dict[str, Any] = json.loads(raw)
    return StoredResponse(
        id=response_id,
        input_items=tuple(record["input_items"]),
        output_items=tuple(record["output_items"]),
        model=record.get("model", ""),
        previous_response_id=record.get("previous_response_id"),
        created_at=float(record.get("created_at", 0.0)),
    )
