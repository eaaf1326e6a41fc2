"""Folding a payload through filters, with fail-open for filters marked ``on_error: allow``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from plano_asgi.errors import UpstreamError
from plano_asgi.filters.base import Filter, FilterCall

__all__ = ["FilterChain"]

logger = logging.getLogger("plano_asgi.filters")


class FilterChain:
    """An ordered list of filters; each sees the previous one's output.

    Rejections always stop the chain. A filter that *fails* (down, timeout, garbage) stops it
    too, unless the filter is configured ``on_error: allow``: then it is skipped, logged, and
    the payload goes on unchanged.
    """

    def __init__(self, filters: Sequence[Filter] = ()) -> None:
        self.filters = tuple(filters)

    def __bool__(self) -> bool:
        return bool(self.filters)

    def __len__(self) -> int:
        return len(self.filters)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(flt.id for flt in self.filters)

    async def run(self, payload: dict[str, Any], call: FilterCall) -> dict[str, Any]:
        """Run an input chain; every filter must return an object."""
        for flt in self.filters:
            try:
                result = await flt.apply(payload, call)
            except UpstreamError as exc:
                if flt.on_error != "allow":
                    raise
                logger.warning("filter %s failed, letting the request through: %s", flt.id, exc)
                continue
            if result is None:
                if flt.on_error == "allow":
                    continue
                raise UpstreamError(
                    f"Filter '{flt.id}' returned no payload.", hop="filter", target=flt.id
                )
            payload = result
        return payload

    async def run_event(self, payload: dict[str, Any], call: FilterCall) -> dict[str, Any] | None:
        """Run an output chain on one whole event; ``None`` means the event is dropped."""
        current: dict[str, Any] | None = payload
        for flt in self.filters:
            if current is None:
                return None
            try:
                current = await flt.apply(current, call)
            except UpstreamError as exc:
                if flt.on_error != "allow":
                    raise
                logger.warning("output filter %s failed, passing the event: %s", flt.id, exc)
        return current
