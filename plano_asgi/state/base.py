"""The conversation store's contract and the record it keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ConversationStore", "StoredResponse"]

Item = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """One answered ``/v1/responses`` request, as a later turn needs it.

    ``input_items`` is the whole input the model was given (earlier turns first, then the
    request's own ``input``); ``output_items`` what it answered. ``instructions`` are not
    kept: as in OpenAI's API they apply to one request only.
    """

    id: str
    input_items: tuple[Item, ...]
    output_items: tuple[Item, ...]
    model: str = ""
    previous_response_id: str | None = None
    created_at: float = 0.0
    """Unix time the response was created."""

    def conversation(self) -> list[Item]:
        """Every item up to and including this response: what a follow-up turn starts with."""
        return [*self.input_items, *self.output_items]


class ConversationStore(Protocol):
    """Where responses are kept. Implementations raise
    :class:`~plano_asgi.errors.StateStoreError` when they cannot do their job."""

    name: str
    """``memory`` or ``postgres``: named in errors and logs."""

    async def get(self, response_id: str) -> StoredResponse | None:
        """The response stored under ``response_id``, or None (unknown or expired)."""
        ...

    async def put(self, response: StoredResponse) -> None:
        """Keep ``response`` under its id."""
        ...

    async def aclose(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...
