"""The PostgreSQL store against a real server: schema on first use, durable, clear failures."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import asyncpg
import pytest

from plano_asgi.config import PlanoConfig
from plano_asgi.errors import ConfigError, StateStoreError
from plano_asgi.state import StoredResponse, store_from_config
from plano_asgi.state.postgres import TABLE, PostgresStore
from tests.support.servers import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def turn(response_id: str, text: str) -> StoredResponse:
    return StoredResponse(
        id=response_id,
        input_items=(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
        ),
        output_items=({"type": "message", "role": "assistant", "content": "Ça va ✓"},),
        model="fake-model",
        previous_response_id="resp_before",
        created_at=1_700_000_000.5,
    )


async def tables(url: str) -> list[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await connection.close()
    return [row[0] for row in rows]


async def test_the_table_is_created_on_first_use_and_a_response_comes_back(
    postgres_url: str,
) -> None:
    assert await tables(postgres_url) == []
    store = PostgresStore(postgres_url)
    try:
        assert await store.get("resp_missing") is None
        assert await tables(postgres_url) == [TABLE]
        await store.put(turn("resp_1", "hello"))
        assert await store.get("resp_1") == turn("resp_1", "hello")
    finally:
        await store.aclose()


async def test_a_new_store_on_the_same_database_reads_what_an_old_one_wrote(
    postgres_url: str,
) -> None:
    first = PostgresStore(postgres_url)
    await first.put(turn("resp_durable", "remember me"))
    await first.aclose()
    second = PostgresStore(postgres_url)  # a new pool, as after a restart
    try:
        got = await second.get("resp_durable")
    finally:
        await second.aclose()
    assert got == turn("resp_durable", "remember me")


async def test_any_text_a_client_sent_is_kept_and_odd_ids_are_unknown(
    postgres_url: str,
) -> None:
    store = PostgresStore(postgres_url)
    odd = dataclasses.replace(
        turn("resp_nul", "a\u0000b"), output_items=({"role": "assistant", "content": "\U0001f600"},)
    )
    try:
        await store.put(odd)
        assert await store.get("resp_nul") == odd
        assert await store.get("resp_\x00") is None
    finally:
        await store.aclose()


async def test_an_unreachable_database_is_a_503_naming_the_store_not_the_password() -> None:
    port = free_port()  # nothing listens there
    store = PostgresStore(f"postgresql://plano:s3cret-pw@127.0.0.1:{port}/plano")
    with pytest.raises(StateStoreError) as caught:
        await store.get("resp_1")
    error = caught.value
    assert error.status_code == 503
    assert error.to_dict()["error"]["store"] == "postgres"
    assert error.to_dict()["error"]["code"] == "state_store_unavailable"
    assert f"127.0.0.1:{port}/plano" in error.message
    assert "s3cret" not in error.message
    with pytest.raises(StateStoreError):  # each use tries again, and fails the same way
        await store.put(turn("resp_1", "x"))
    await store.aclose()


def test_a_connection_string_that_is_not_postgres_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"state_storage\.connection_string"):
        PlanoConfig.from_dict(
            {
                "version": "v0.4.0",
                "listeners": [{"type": "model", "name": "llm", "port": 12000}],
                "model_providers": [{"model": "openai/gpt-4o", "access_key": "sk-x"}],
                "state_storage": {"type": "postgres", "connection_string": "mysql://h/db"},
            }
        )


def test_the_connection_string_takes_env_substitution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANO_TEST_DB_URL", "postgresql://u:p@db.internal:6543/conv")
    config = PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "listeners": [{"type": "model", "name": "llm", "port": 12000}],
            "model_providers": [{"model": "openai/gpt-4o", "access_key": "sk-x"}],
            "state_storage": {"type": "postgres", "connection_string": "$PLANO_TEST_DB_URL"},
        }
    )
    assert config.state_storage is not None
    store = store_from_config(config.state_storage)
    assert isinstance(store, PostgresStore)
    assert store.where == "db.internal:6543/conv"


def test_without_the_postgres_extra_the_error_names_it() -> None:
    code = (
        "import sys; sys.modules['asyncpg'] = None\n"
        "from plano_asgi.config.models import StateStorage\n"
        "from plano_asgi.errors import MissingExtraError\n"
        "from plano_asgi.state import store_from_config\n"
        "try:\n"
        "    store_from_config(StateStorage(type='postgres', connection_string='postgresql://h/d'))\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "state_storage type 'postgres' needs the postgres extra" in out.stdout
    assert "pip install 'plano-asgi[postgres]'" in out.stdout
