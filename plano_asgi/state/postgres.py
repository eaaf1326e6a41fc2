"""``state_storage: {type: postgres}``: responses in a PostgreSQL table, shared and durable.

Needs the ``postgres`` extra (``pip install 'plano-asgi[postgres]'``, the asyncpg driver).
Nothing connects until the first request that reads or writes state; the first connection
creates the table when it is missing (:data:`SCHEMA`), so an empty database is enough. A
database that cannot be reached, refuses the credentials or fails a query raises
:class:`~plano_asgi.errors.StateStoreError` (a 503 envelope naming the store), and the next
request tries again. The connection string never appears in errors or logs: they name the
host, port and database only.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import anyio

from plano_asgi.errors import ConfigError, ConfigIssue, MissingExtraError, StateStoreError
from plano_asgi.state.base import StoredResponse

try:
    import asyncpg
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise MissingExtraError("postgres", "state_storage type 'postgres'", exc) from exc

__all__ = ["SCHEMA", "TABLE", "PostgresStore"]

logger = logging.getLogger("plano_asgi.state")

TABLE = "plano_responses"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id                   text PRIMARY KEY,
    previous_response_id text,
    model                text NOT NULL DEFAULT '',
    input_items          json NOT NULL,
    output_items         json NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now()
)
"""
"""The one table, created on first use. ``json``, not ``jsonb``: a conversation may hold any
text a client sent, and ``jsonb`` refuses ``\u0000``."""

_INSERT = f"""
INSERT INTO {TABLE} (id, previous_response_id, model, input_items, output_items, created_at)
VALUES ($1, $2, $3, $4::json, $5::json, $6)
ON CONFLICT (id) DO NOTHING
"""
_SELECT = f"""
SELECT id, previous_response_id, model, input_items::text, output_items::text, created_at
FROM {TABLE} WHERE id = $1
"""

#: What asyncpg raises when the server is gone, refuses us or fails a statement.
_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
#: Connecting can also fail on a malformed connection string.
_CONNECT_FAILURES: tuple[type[BaseException], ...] = (*_FAILURES, ValueError)


class PostgresStore:
    """A :class:`~plano_asgi.state.ConversationStore` on PostgreSQL through an asyncpg pool.

    ``connection_string`` is a ``postgresql://user:password@host:port/database`` URL (query
    parameters such as ``?sslmode=require`` as asyncpg accepts them). ``connect_timeout``
    bounds each connection attempt and ``command_timeout`` each statement, in seconds.
    """

    name = "postgres"

    def __init__(
        self,
        connection_string: str,
        *,
        max_connections: int = 10,
        connect_timeout: float = 5.0,
        command_timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(connection_string)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ConfigError(
                [ConfigIssue("state_storage.connection_string", "expected a postgresql:// URL")]
            )
        self._dsn = connection_string
        try:
            port = parts.port
        except ValueError:
            port = None
        database = parts.path.lstrip("/") or "(default database)"
        self.where = f"{parts.hostname or 'localhost'}:{port or 5432}/{database}"
        """Host, port and database: what errors and logs name (no user, no password)."""
        self._max = max_connections
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: Any = None
        self._lock = anyio.Lock()

    async def _connected(self) -> Any:
        if self._pool is not None:
            return self._pool
        async with self._lock:
            if self._pool is None:
                pool = None
                try:
                    pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._max,
                        timeout=self._connect_timeout,
                        command_timeout=self._command_timeout,
                    )
                    async with pool.acquire() as connection:
                        await connection.execute(SCHEMA)
                except _CONNECT_FAILURES as exc:
                    if pool is not None:
                        pool.terminate()
                    raise self._error("cannot connect to", exc) from None
                logger.info("conversation state in postgres at %s", self.where)
                self._pool = pool
        return self._pool

    def _error(self, doing: str, exc: BaseException) -> StateStoreError:
        reason = exc.__class__.__name__
        if isinstance(exc, asyncpg.PostgresError):
            # The server's own message names roles and tables, never the password.
            reason = f"{reason}: {exc.args[0] if exc.args else ''}".rstrip(": ")
        logger.warning("state store: %s postgres at %s (%s)", doing, self.where, reason)
        return StateStoreError(
            f"The conversation state store is unavailable: {doing} postgres at {self.where} "
            f"({reason}).",
            store=self.name,
        )

    async def get(self, response_id: str) -> StoredResponse | None:
        if "\x00" in response_id:
            return None  # no id of ours has one, and the server would refuse the query
        pool = await self._connected()
        try:
            row = await pool.fetchrow(_SELECT, response_id)
        except _FAILURES as exc:
            raise self._error("cannot read from", exc) from None
        if row is None:
            return None
        return StoredResponse(
            id=row[0],
            previous_response_id=row[1],
            model=row[2],
            input_items=tuple(json.loads(row[3])),
            output_items=tuple(json.loads(row[4])),
            created_at=row[5].timestamp(),
        )

    async def put(self, response: StoredResponse) -> None:
        pool = await self._connected()
        created = datetime.fromtimestamp(response.created_at, UTC)
        try:
            await pool.execute(
                _INSERT,
                response.id,
                response.previous_response_id,
                response.model,
                json.dumps(response.input_items, ensure_ascii=False),
                json.dumps(response.output_items, ensure_ascii=False),
                created,
            )
        except _FAILURES as exc:
            raise self._error("cannot write to", exc) from None

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
