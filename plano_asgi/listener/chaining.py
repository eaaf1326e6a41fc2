"""Chaining agents: reading an intermediate agent's whole reply and handing it to the next.

An intermediate agent may answer with SSE chunks or with one JSON completion; both are
understood (Plano pastes a JSON reply verbatim into the history). Its status is checked:
an error reply stops the chain with a 502 naming the agent instead of becoming the next
agent's input.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from plano_asgi.chat import message_text
from plano_asgi.errors import UpstreamError
from plano_asgi.listener.transport import AgentReply
from plano_asgi.sse import SSEDecoder

__all__ = ["MAX_INTERMEDIATE_BYTES", "insert_reply", "read_reply_text"]

MAX_INTERMEDIATE_BYTES = 8 * 1024 * 1024
"""Largest intermediate reply read into memory."""


def _bad(agent: str, what: str, status: int | None = None) -> UpstreamError:
    return UpstreamError(
        f"Agent '{agent}' {what}.", hop="agent", target=agent, upstream_status=status
    )


async def read_reply_text(reply: AgentReply) -> str:
    """The assistant text of an intermediate agent's reply (SSE or JSON)."""
    if reply.status >= 400:
        raise _bad(reply.agent, f"answered HTTP {reply.status}", reply.status)
    if reply.is_event_stream:
        return await _read_stream(reply)
    raw = bytearray()
    async for chunk in reply.chunks():
        raw += chunk
        if len(raw) > MAX_INTERMEDIATE_BYTES:
            raise _bad(reply.agent, "sent a reply larger than we pass on")
    text = raw.decode("utf-8", "replace")
    content_type = (reply.header("content-type") or "").lower()
    if "json" not in content_type and not text.lstrip().startswith("{"):
        return text
    try:
        data = json.loads(text)
    except ValueError:
        raise _bad(reply.agent, "sent a reply that is not valid JSON") from None
    return _completion_text(reply.agent, data)


async def _read_stream(reply: AgentReply) -> str:
    decoder = SSEDecoder()
    parts: list[str] = []
    size = 0
    async for chunk in reply.chunks():
        size += len(chunk)
        if size > MAX_INTERMEDIATE_BYTES:
            raise _bad(reply.agent, "sent a reply larger than we pass on")
        for event in decoder.feed(chunk):
            if event.is_done:
                continue
            try:
                data = event.json()
            except ValueError:
                continue
            if isinstance(data, dict):
                if data.get("error"):
                    raise _bad(reply.agent, f"reported an error: {_error_message(data)}")
                parts.append(_delta_text(data))
    return "".join(parts)


def _delta_text(data: dict[str, Any]) -> str:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""
    delta = choices[0].get("delta") or choices[0].get("message") or {}
    if not isinstance(delta, dict):
        return ""
    return message_text(delta.get("content"))


def _completion_text(agent: str, data: Any) -> str:
    if isinstance(data, dict) and data.get("error"):
        raise _bad(agent, f"reported an error: {_error_message(data)}")
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _bad(agent, "sent JSON that is not a chat completion")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise _bad(agent, "sent a chat completion without a message")
    return message_text(message.get("content"))


def _error_message(data: dict[str, Any]) -> str:
    error = data.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])[:200]
    return str(error)[:200]


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
