"""Conversation state for the Responses API: what ``previous_response_id`` refers to.

Every response the gateway or the listener answers on ``/v1/responses`` gets an id
(``resp_...``) and, unless the request says ``store: false``, is kept as a
:class:`StoredResponse`: the whole conversation it answered (the earlier turns and this
request's ``input`` items) and its ``output`` items. A later request naming it in
``previous_response_id`` gets those items put in front of its own ``input``
(:func:`~plano_asgi.state.conversation.expand_input`), so a chain of any length costs one
lookup, and a conversation stays whole even when its older responses expired.

Three stores implement :class:`ConversationStore`, picked by ``state_storage.type``:
:class:`~plano_asgi.state.memory.MemoryStore` (per process, bounded in size and age),
:class:`~plano_asgi.state.postgres.PostgresStore` (shared, durable; the ``postgres`` extra)
and, ours, :class:`~plano_asgi.state.redis.RedisStore` (shared, kept for ``ttl``; the
``redis`` extra). Store failures raise :class:`~plano_asgi.errors.StateStoreError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plano_asgi.state.base import ConversationStore, StoredResponse
from plano_asgi.state.conversation import expand_input, new_response_id, record

if TYPE_CHECKING:
    from plano_asgi.config import StateStorage

__all__ = [
    "ConversationStore",
    "StoredResponse",
    "expand_input",
    "new_response_id",
    "record",
    "store_from_config",
]


def store_from_config(storage: StateStorage) -> ConversationStore:
    """The store ``state_storage`` describes; opens no connection (that happens on first use).

    Raises :class:`~plano_asgi.errors.MissingExtraError` when ``postgres`` or ``redis`` is
    asked for without its extra (on first use for ``redis``).
    """
    if storage.type == "memory":
        from plano_asgi.state.memory import MemoryStore

        return MemoryStore(max_entries=storage.max_entries, ttl=storage.ttl)
    assert storage.connection_string is not None  # the config checks say so
    if storage.type == "redis":
        from plano_asgi.state.redis import RedisStore

        return RedisStore(storage.connection_string, ttl=storage.ttl)
    from plano_asgi.state.postgres import PostgresStore

    return PostgresStore(storage.connection_string)
