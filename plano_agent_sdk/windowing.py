"""Conversation windowing: keep the recent part of a long history, and the system prompt.

A *turn* starts at a ``user`` message and runs up to the next one, so an assistant's tool
calls stay with their tool results (OpenAI rejects a ``tool`` message whose call was cut
off). ``system``/``developer`` messages are kept where they are, outside the window and
the budget, when ``keep_system`` is true. The newest turn is always kept, even when it
alone exceeds ``max_chars``: an empty conversation helps no one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from plano_asgi.chat import ChatMessage, message_text

__all__ = ["window_messages"]

_M = TypeVar("_M", bound=ChatMessage | Mapping[str, Any])

_SYSTEM_ROLES = ("system", "developer")


def _field(message: ChatMessage | Mapping[str, Any], name: str) -> Any:
    if isinstance(message, ChatMessage):
        return getattr(message, name)
    return message.get(name)


def _size(message: ChatMessage | Mapping[str, Any]) -> int:
    size = len(message_text(_field(message, "content")))
    for call in _field(message, "tool_calls") or []:
        function = call.get("function") or {}
        size += len(str(function.get("name") or "")) + len(str(function.get("arguments") or ""))
    return size


def window_messages(
    messages: Sequence[_M],
    *,
    max_turns: int | None = None,
    max_chars: int | None = None,
    keep_system: bool = True,
) -> list[_M]:
    """The last ``max_turns`` turns that fit in ``max_chars`` characters, plus system messages.

    Works on :class:`~plano_asgi.chat.ChatMessage` objects or plain dicts and returns the
    same objects, in their original order. ``None`` means no limit of that kind.
    """
    if max_turns is not None and max_turns < 1:
        raise ValueError("max_turns must be at least 1")
    body = [i for i, m in enumerate(messages) if _field(m, "role") not in _SYSTEM_ROLES]
    turns: list[list[int]] = []
    for index in body:
        if _field(messages[index], "role") == "user" or not turns:
            turns.append([])
        turns[-1].append(index)
    if max_turns is not None:
        turns = turns[-max_turns:]
    kept: list[list[int]] = []
    used = 0
    for turn in reversed(turns):
        size = sum(_size(messages[i]) for i in turn)
        if kept and max_chars is not None and used + size > max_chars:
            break
        kept.append(turn)
        used += size
    chosen = {i for turn in kept for i in turn}
    return [
        m
        for i, m in enumerate(messages)
        if i in chosen or (keep_system and _field(m, "role") in _SYSTEM_ROLES)
    ]
