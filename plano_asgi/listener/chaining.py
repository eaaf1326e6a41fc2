"""Chaining agents: handing an earlier agent's answer to the next one, as Plano does.

The answer's text is gathered from its events (:mod:`plano_asgi.listener.reading`, which
also refuses incomplete or failed replies, so a cut answer never reaches the next agent)
and inserted as ``{"role": "assistant", "name": <agent id>}`` before the latest user turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["insert_reply"]


def insert_reply(messages: Sequence[dict[str, Any]], agent: str, text: str) -> list[dict[str, Any]]:
    """``messages`` with ``{"role": "assistant", "name": agent}`` before the last user turn."""
    out = list(messages)
    index = len(out)
    for position in range(len(out) - 1, -1, -1):
        if out[position].get("role") == "user":
            index = position
            break
    out.insert(index, {"role": "assistant", "content": text, "name": agent})
    return out
