"""A PostgreSQL server for the whole session, and a fresh database for each test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from tests.support.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.remove()


async def _create_database(url: str, name: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The connection string of an empty database of its own (no table yet)."""
    name = f"plano_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_database(postgres_server.url, name))
    return postgres_server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def shared_postgres_url(postgres_server: PostgresServer) -> str:
    """One database for every test that only needs a working store (ids never collide)."""
    asyncio.run(_create_database(postgres_server.url, "plano_shared"))
    return postgres_server.url.rsplit("/", 1)[0] + "/plano_shared"
