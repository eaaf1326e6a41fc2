"""``state_storage: {type: memory}``: responses kept in this process, bounded in count and age.

A response is dropped ``ttl`` seconds after it was stored (default 24 h), and when more than
``max_entries`` are kept (default 10,000) the least recently used goes first. Each entry holds
its whole conversation, so a follow-up needs only the latest response of a conversation to
be kept. Entries are held as JSON text, so a caller that changes the items it stored or
got back changes nothing in the store. Nothing survives a restart, and processes do not
share it: use ``postgres`` for that.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from plano_asgi.state.base import StoredResponse

__all__ = ["DEFAULT_MAX_ENTRIES", "DEFAULT_TTL", "MemoryStore"]

DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_TTL = 86_400.0


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    response: StoredResponse
    items: str
    """``[input_items, output_items]`` as JSON."""


class MemoryStore:
    """A bounded in-process :class:`~plano_asgi.state.ConversationStore`.

    ``clock`` (default :func:`time.monotonic`) measures the TTL; tests pass their own.
    """

    name = "memory"

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, response_id: str) -> StoredResponse | None:
        entry = self._entries.get(response_id)
        if entry is None:
            return None
        if entry.expires <= self._clock():
            del self._entries[response_id]
            return None
        self._entries.move_to_end(response_id)
        input_items, output_items = json.loads(entry.items)
        return dataclasses.replace(
            entry.response, input_items=tuple(input_items), output_items=tuple(output_items)
        )

    async def put(self, response: StoredResponse) -> None:
        now = self._clock()
        items = json.dumps([response.input_items, response.output_items], ensure_ascii=False)
        bare = dataclasses.replace(response, input_items=(), output_items=())
        self._entries[response.id] = _Entry(now + self.ttl, bare, items)
        self._entries.move_to_end(response.id)
        self._evict(now)

    def _evict(self, now: float) -> None:
        # Oldest first: expired entries at the front go, then whatever is over the bound.
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if oldest.expires > now and len(self._entries) <= self.max_entries:
                return
            self._entries.popitem(last=False)

    async def aclose(self) -> None:
        self._entries.clear()
