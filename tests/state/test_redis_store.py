"""The Redis store against a real redis-server: shared between clients, expiring, clear failures."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest
import redis.asyncio as aioredis

from plano_asgi.config import PlanoConfig
from plano_asgi.config.loader import load_config_data
from plano_asgi.errors import ConfigError, StateStoreError
from plano_asgi.state import StoredResponse, store_from_config
from plano_asgi.state.redis import PREFIX, RedisStore
from tests.gateway.fakes import FakeProvider, Reply, openai_completion
from tests.gateway.helpers import openai_client
from tests.state.serving import gateway_config_text, serving
from tests.support.redis_server import RedisServer
from tests.support.servers import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def turn(response_id: str, text: str) -> StoredResponse:
    return StoredResponse(
        id=response_id,
        input_items=(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
        ),
        output_items=({"type": "message", "role": "assistant", "content": "Ça va ✓ \x00"},),
        model="fake-model",
        previous_response_id="resp_before",
        created_at=1_700_000_000.5,
    )


@pytest.fixture
async def url(redis_server: RedisServer) -> str:
    """Database 1 of the session's server, emptied for each test."""
    url = redis_server.url.rsplit("/", 1)[0] + "/1"
    client = aioredis.Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    return url


async def test_a_response_comes_back_whole_from_another_client(url: str) -> None:
    writer, reader = RedisStore(url), RedisStore(url)
    try:
        assert await reader.get("resp_1") is None
        await writer.put(turn("resp_1", "hello"))
        assert await reader.get("resp_1") == turn("resp_1", "hello")
    finally:
        await writer.aclose()
        await reader.aclose()


async def test_each_response_is_one_key_that_expires_after_the_ttl(url: str) -> None:
    store = RedisStore(url, ttl=3600)
    client = aioredis.Redis.from_url(url)
    try:
        await store.put(turn("resp_ttl", "hi"))
        assert await client.keys("*") == [f"{PREFIX}resp_ttl".encode()]
        assert 3_590_000 < await client.pttl(f"{PREFIX}resp_ttl") <= 3_600_000
    finally:
        await client.aclose()
        await store.aclose()


async def test_an_expired_response_is_gone(url: str) -> None:
    store = RedisStore(url, ttl=0.05)
    try:
        await store.put(turn("resp_short", "hi"))
        await anyio.sleep(0.2)
        assert await store.get("resp_short") is None
    finally:
        await store.aclose()


async def test_an_unreachable_redis_is_a_503_error_without_the_password() -> None:
    port = free_port()  # nothing listens here
    store = RedisStore(f"redis://:hunter2-secret@127.0.0.1:{port}/2", timeout=0.5)
    try:
        with pytest.raises(StateStoreError) as caught:
            await store.put(turn("resp_x", "hi"))
        with pytest.raises(StateStoreError):
            await store.get("resp_x")
    finally:
        await store.aclose()
    error = caught.value
    assert error.status_code == 503
    assert f"redis at 127.0.0.1:{port}/2" in str(error)
    assert "hunter2" not in str(error)
    assert error.to_dict()["error"]["code"] == "state_store_unavailable"


def config(storage: dict[str, object]) -> PlanoConfig:
    return load_config_data(
        {
            "version": "v0.3.0",
            "model_providers": [{"model": "openai/gpt-4o", "access_key": "k", "default": True}],
            "listeners": [{"type": "model", "name": "m", "port": 12000}],
            "state_storage": storage,
        }
    )


def test_state_storage_redis_builds_the_redis_store_with_its_ttl() -> None:
    store = store_from_config(
        config(
            {"type": "redis", "connection_string": "redis://h:6380/4", "ttl": "1h"}
        ).state_storage
        or pytest.fail("no state_storage")
    )
    assert isinstance(store, RedisStore)
    assert (store.where, store.ttl) == ("h:6380/4", 3600.0)


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ({"type": "redis"}, "'type: redis' needs a connection_string"),
        (
            {"type": "redis", "connection_string": "postgresql://h/db"},
            "expected a redis:// URL",
        ),
        (
            {"type": "redis", "connection_string": "redis://h", "max_entries": 5},
            "does not apply here: redis keeps",
        ),
    ],
)
def test_bad_redis_state_storage_is_a_config_error_naming_the_key(
    storage: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        config(storage)
    assert message in str(caught.value)


def two_gateways_config(provider_url: str, port: int) -> str:
    storage = "state_storage:\n  type: redis\n  connection_string: $PLANO_TEST_STATE_REDIS\n"
    return gateway_config_text(provider_url, port, storage)


async def test_two_serve_processes_share_the_conversation_through_redis(
    tmp_path: Path, url: str
) -> None:
    port_a, port_b = free_port(), free_port()
    env = {**os.environ, "PLANO_TEST_STATE_REDIS": url}
    async with FakeProvider("upstream").then(
        Reply(body=openai_completion("Porto has the best tiles.")),
        Reply(body=openai_completion("Take the train from Lisbon.")),
    ) as fake:
        path_a, path_b = tmp_path / "a.yaml", tmp_path / "b.yaml"
        path_a.write_text(two_gateways_config(fake.url, port_a), encoding="utf-8")
        path_b.write_text(two_gateways_config(fake.url, port_b), encoding="utf-8")
        client_a = openai_client(f"http://127.0.0.1:{port_a}")
        client_b = openai_client(f"http://127.0.0.1:{port_b}")
        try:
            async with serving(path_a, port_a, env), serving(path_b, port_b, env):
                first = await client_a.responses.create(model="openai/gpt-4o", input="Porto?")
                second = await client_b.responses.create(
                    model="openai/gpt-4o",
                    input="How do I get there?",
                    previous_response_id=first.id,
                )
        finally:
            await client_a.close()
            await client_b.close()
    assert second.output_text == "Take the train from Lisbon."
    assert fake.requests[1].json()["messages"] == [
        {"role": "user", "content": "Porto?"},
        {"role": "assistant", "content": "Porto has the best tiles."},
        {"role": "user", "content": "How do I get there?"},
    ]
