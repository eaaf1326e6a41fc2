"""The filter protocol and the chain that folds a payload through filters in order.

A filter takes a JSON payload (for agent chains ``{"model", "messages"}``; on the model
listener the client's request body) and the request path, and returns the payload to use
next. It rejects with :class:`~plano_asgi.errors.FilterRejectedError` (the client sees the
filter's 4xx and message) and fails with :class:`~plano_asgi.errors.UpstreamError` /
:class:`~plano_asgi.errors.UpstreamTimeoutError` (502/504 naming the filter).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = ["Filter", "FilterCall"]


@dataclass(frozen=True, slots=True)
class FilterCall:
    """Per-request context handed to each filter: path hint and headers to forward."""

    path: str
    headers: Mapping[str, str]
    """Headers for the filter hop: request id, trace context, allowed client headers."""
    request_id: str | None = None


@runtime_checkable
class Filter(Protocol):
    """One filter service (HTTP or MCP), long-lived, shared by all requests."""

    id: str
    on_error: Literal["fail", "allow"]

    async def apply(self, payload: dict[str, Any], call: FilterCall) -> dict[str, Any] | None:
        """Return the (possibly rewritten) payload, or raise a rejection or a failure.

        ``None`` (the filter answered JSON ``null``) drops an output event; for input chains
        it is a bad reply.
        """
        ...

    async def aclose(self) -> None:
        """Release sessions and connections."""
        ...


FilterSeq = Sequence[Filter]
