"""The two steps of a stateful turn: expand the input before the call, keep the response after.

Both endpoints that speak the Responses API (the gateway's and the agent listener's) use
these, so ``previous_response_id`` means the same on both.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from plano_asgi.errors import PreviousResponseNotFoundError
from plano_asgi.state.base import ConversationStore, Item, StoredResponse

__all__ = ["expand_input", "new_response_id", "record"]


def new_response_id() -> str:
    """A fresh response id in OpenAI's shape: ``resp_`` and 32 hex digits."""
    return f"resp_{uuid.uuid4().hex}"


async def expand_input(
    store: ConversationStore | None, previous_response_id: str | None, items: Sequence[Item]
) -> list[Item]:
    """``items`` with the conversation of ``previous_response_id`` in front.

    Without a previous id the items come back as they are. With one, the stored
    conversation (its input and output, so every earlier turn) comes first; an id the
    store does not know, or any id when no store is configured, raises
    :class:`~plano_asgi.errors.PreviousResponseNotFoundError` (400).
    """
    if previous_response_id is None:
        return list(items)
    stored = await store.get(previous_response_id) if store is not None else None
    if stored is None:
        raise PreviousResponseNotFoundError(previous_response_id)
    return [*stored.conversation(), *items]


async def record(
    store: ConversationStore | None,
    response_id: str,
    *,
    input_items: Sequence[Item],
    output_items: Sequence[Item],
    model: str,
    previous_response_id: str | None,
    created_at: float | None = None,
) -> None:
    """Keep one answered turn (``input_items`` already expanded); a no-op without a store."""
    if store is None:
        return
    await store.put(
        StoredResponse(
            id=response_id,
            input_items=tuple(input_items),
            output_items=tuple(output_items),
            model=model,
            previous_response_id=previous_response_id,
            created_at=time.time() if created_at is None else created_at,
        )
    )
