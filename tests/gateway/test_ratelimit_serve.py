"""A token rate limit holds across two ``plano-asgi serve`` processes on one real redis-server.

The in-process tests (``test_ratelimit_redis.py``) share a budget between two gateways of
one process; here each gateway is its own ``serve`` process, as two replicas behind a load
balancer run, and the only thing they share is the Redis server.
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import openai
import pytest
import redis.asyncio as aioredis

from tests.gateway.fakes import FakeProvider
from tests.gateway.helpers import openai_client
from tests.state.serving import gateway_config_text, serving
from tests.support.redis_server import RedisServer
from tests.support.servers import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def limited_config(provider_url: str, port: int) -> str:
    """One model listener on ``port``; 20 tokens an hour per ``x-user``."""
    limits = """\
ratelimits:
  - model: openai/gpt-4o
    selector: {key: x-user, value: "*"}
    limit: {tokens: 20, unit: hour}
"""
    return gateway_config_text(provider_url, port, limits)


async def chat(port: int, user: str) -> str | None:
    async with openai_client(f"http://127.0.0.1:{port}", default_headers={"x-user": user}) as c:
        reply = await c.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x" * 40}]
        )
    return reply.choices[0].message.content


async def test_a_budget_spent_through_one_serve_process_is_refused_by_the_other(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/4"  # a database of its own
    async with aioredis.Redis.from_url(url) as redis:
        await redis.flushdb()
    env = {**os.environ, "PLANO_RATELIMIT_REDIS_URL": url}
    port_a, port_b = free_port(), free_port()
    with anyio.fail_after(60):
        async with FakeProvider("p") as fake:
            path_a, path_b = tmp_path / "a.yaml", tmp_path / "b.yaml"
            path_a.write_text(limited_config(fake.url, port_a), encoding="utf-8")
            path_b.write_text(limited_config(fake.url, port_b), encoding="utf-8")
            async with serving(path_a, port_a, env), serving(path_b, port_b, env):
                # Each request is estimated at 15 tokens: one fits in alice's 20-token hour.
                first = await chat(port_a, "alice")
                with pytest.raises(openai.RateLimitError) as refused:
                    await chat(port_b, "alice")
                other = await chat(port_b, "bob")  # another key: its own budget
            async with aioredis.Redis.from_url(url) as redis:
                keys = [key async for key in redis.scan_iter(match="plano:ratelimit:*")]
    assert first
    assert refused.value.status_code == 429
    assert refused.value.code == "rate_limit_exceeded"
    assert refused.value.response.headers["x-ratelimit-remaining-tokens"] == "5"
    assert other
    assert len(fake.requests) == 2  # the refused request never reached the provider
    assert len(keys) == 2  # alice's bucket and bob's, both written to the one server
