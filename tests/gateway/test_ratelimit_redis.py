"""Token rate limits shared through a real redis-server on 127.0.0.1."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import openai
import pytest
import redis.asyncio as aioredis

from plano_asgi.config import PlanoConfig
from plano_asgi.errors import MissingExtraError
from plano_asgi.gateway.ratelimit_redis import RedisTokenLimiter
from tests.gateway.fakes import FakeProvider
from tests.gateway.helpers import make_config, openai_client, provider, running
from tests.support.redis_server import RedisServer
from tests.support.servers import free_port

pytestmark = pytest.mark.anyio

HOUR = 3600.0


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A client on the shared server, emptied before each test."""
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushdb()
    yield client
    await client.aclose()


async def server_time(client: aioredis.Redis) -> float:
    seconds, micros = await client.time()
    return float(seconds) + micros / 1_000_000


async def test_two_limiters_share_one_budget(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    with anyio.fail_after(10):
        first = RedisTokenLimiter.from_url(redis_server.url)
        second = RedisTokenLimiter.from_url(redis_server.url)
        try:
            taken = await first.take("0:alice", 15, 20, HOUR)
            refused = await second.take("0:alice", 15, 20, HOUR)
            other = await second.take("0:bob", 15, 20, HOUR)
        finally:
            await first.aclose()
            await second.aclose()
    assert (taken.allowed, taken.remaining, taken.retry_after) == (True, 5, 0.0)
    assert (refused.allowed, refused.remaining) == (False, 5)
    # 10 tokens short at 20 tokens an hour: about 1800 s (less the refill since the take).
    assert 1799.0 < refused.retry_after <= 1800.0
    assert (other.allowed, other.remaining) == (True, 5)


async def test_bucket_refills_continuously_by_redis_time(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    rate = 1000.0  # tokens per second: capacity 1000 over a one-second unit
    limiter = RedisTokenLimiter.from_url(redis_server.url)
    try:
        with anyio.fail_after(10):
            before_first = await server_time(redis)
            emptied = await limiter.take("k", 1000, 1000, 1.0)
            after_first = await server_time(redis)
            refused = await limiter.take("k", 1000, 1000, 1.0)
            after_refused = await server_time(redis)
            await anyio.sleep(0.3)  # time passing is the point; bounds below use Redis's clock
            before_third = await server_time(redis)
            refilled = await limiter.take("k", 100, 1000, 1.0)
            after_third = await server_time(redis)
    finally:
        await limiter.aclose()
    assert emptied.allowed
    assert emptied.remaining == 0
    assert not refused.allowed
    # Retry-After is what is missing over the rate: almost the whole second, never more.
    assert 1.0 - (after_refused - before_first) <= refused.retry_after <= 1.0
    assert refilled.allowed
    low = (before_third - after_first) * rate - 100 - 1
    high = (after_third - before_first) * rate - 100
    assert low <= refilled.remaining <= high
    assert refilled.remaining >= 150  # ~0.3 s of refill at 1000 tokens/s, minus the 100 taken


async def test_keys_are_prefixed_hashed_and_expire(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    limiter = RedisTokenLimiter.from_url(redis_server.url)
    try:
        with anyio.fail_after(10):
            await limiter.take("0:alice-secret-tenant", 5, 20, HOUR)
            await limiter.take("1:bob", 5, 20, 1.0)
            keys = sorted([key.decode() async for key in redis.scan_iter(match="*")])
            hour_ttl = await redis.pttl(limiter.redis_key("0:alice-secret-tenant"))
            second_ttl = await redis.pttl(limiter.redis_key("1:bob"))
    finally:
        await limiter.aclose()
    assert keys == sorted([limiter.redis_key("0:alice-secret-tenant"), limiter.redis_key("1:bob")])
    assert all(key.startswith("plano:ratelimit:") for key in keys)
    assert not any("alice" in key or "bob" in key for key in keys)
    # An idle bucket is full again after one unit, so it may be forgotten then (+1 s slack).
    assert HOUR * 1000 < hour_ttl <= HOUR * 1000 + 1000
    assert 1000 < second_ttl <= 2000


def limited_config(fake: FakeProvider) -> PlanoConfig:
    return make_config(
        [provider("openai/gpt-4o", fake.url)],
        ratelimits=[
            {
                "model": "openai/gpt-4o",
                "selector": {"key": "x-user", "value": "*"},
                "limit": {"tokens": 20, "unit": "hour"},
            }
        ],
    )


async def chat(url: str, user: str) -> Any:
    client = openai_client(url, default_headers={"x-user": user})
    async with client:
        return await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x" * 40}]
        )


async def test_two_gateways_from_the_env_setting_share_the_budget_and_answer_429(
    redis_server: RedisServer, redis: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANO_RATELIMIT_REDIS_URL", redis_server.url)
    with anyio.fail_after(15):
        async with FakeProvider("p") as fake:
            config = limited_config(fake)
            async with running(config) as one, running(config) as two:
                # Each request is estimated at 15 tokens: one fits in the 20-token hour.
                first = await chat(one, "alice")
                with pytest.raises(openai.RateLimitError) as refused:
                    await chat(two, "alice")
                other = await chat(two, "bob")
            keys = [key async for key in redis.scan_iter(match="plano:ratelimit:*")]
    assert first.choices[0].message.content
    headers = refused.value.response.headers
    assert refused.value.status_code == 429
    assert refused.value.code == "rate_limit_exceeded"
    assert 1700 <= int(headers["retry-after"]) <= 1800
    assert headers["x-ratelimit-limit-tokens"] == "20"
    assert headers["x-ratelimit-remaining-tokens"] == "5"
    assert other.choices[0].message.content
    assert len(fake.requests) == 2  # the refused request never reached the provider
    assert len(keys) == 2


async def test_redis_down_fails_open_to_local_buckets_then_shares_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    now = [0.0]
    limiter = RedisTokenLimiter.from_url(
        f"redis://127.0.0.1:{port}/0", retry_interval=5.0, clock=lambda: now[0]
    )
    caplog.set_level(logging.WARNING, logger="plano_asgi.gateway.ratelimit")
    try:
        with anyio.fail_after(15):
            down_first = await limiter.take("0:alice", 15, 20, HOUR)
            down_second = await limiter.take("0:alice", 15, 20, HOUR)
            down_warnings = [r.getMessage() for r in caplog.records]
            server = RedisServer(port)
            try:
                still_local = await limiter.take("0:bob", 15, 20, HOUR)  # within retry_interval
                now[0] = 5.0
                shared = await limiter.take("0:alice", 15, 20, HOUR)
                client = aioredis.Redis.from_url(server.url)
                async with client:
                    stored = await client.exists(limiter.redis_key("0:alice"))
                    bob_stored = await client.exists(limiter.redis_key("0:bob"))
            finally:
                server.stop()
    finally:
        await limiter.aclose()
    assert (down_first.allowed, down_first.remaining) == (True, 5)
    assert not down_second.allowed  # local buckets still bound a runaway client
    assert len(down_warnings) == 1
    assert "using per-process buckets" in down_warnings[0]
    assert still_local.allowed
    assert bob_stored == 0
    assert (shared.allowed, shared.remaining) == (True, 5)  # a fresh shared bucket
    assert stored == 1
    assert "reachable again" in caplog.records[-1].getMessage()


async def test_gateway_keeps_serving_when_redis_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANO_RATELIMIT_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    with anyio.fail_after(15):
        async with FakeProvider("p") as fake, running(limited_config(fake)) as url:
            first = await chat(url, "alice")
            with pytest.raises(openai.RateLimitError) as refused:
                await chat(url, "alice")
    assert first.choices[0].message.content
    assert refused.value.response.headers["x-ratelimit-remaining-tokens"] == "5"
    assert len(fake.requests) == 1


async def test_missing_redis_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(MissingExtraError) as caught:
        RedisTokenLimiter.from_url("redis://127.0.0.1:6379/0")
    assert caught.value.extra == "redis"
    assert "PLANO_RATELIMIT_REDIS_URL needs the redis extra" in str(caught.value)
