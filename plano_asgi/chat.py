"""OpenAI Chat Completions wire models, shared by the listener, the gateway and the SDK.

Requests are validated strictly where we rely on a field (roles, message shape) and keep
every other field as sent (``extra="allow"``), so nothing a client adds is lost on the way
to an agent or a provider (Plano drops unknown fields; we don't).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from plano_asgi.errors import RequestError
from plano_asgi.json_body import parse_json_object

__all__ = [
    "MAX_INT32",
    "ROLES",
    "ChatMessage",
    "ChatRequest",
    "chat_completion",
    "completion_chunk",
    "completion_id",
    "message_text",
    "parse_chat_request",
]

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
ROLES: tuple[str, ...] = ("system", "developer", "user", "assistant", "tool", "function")
MAX_INT32 = 2**31 - 1
"""Largest token count a request may ask for (providers read it as a 32-bit integer)."""


class ChatMessage(BaseModel):
    """One message of a conversation. ``content`` is a string, a list of parts, or null."""

    model_config = ConfigDict(extra="allow")

    role: Role
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    @property
    def text(self) -> str:
        """The message's text: string content, or its text parts joined by newlines."""
        return message_text(self.content)

    def to_wire(self) -> dict[str, Any]:
        """The message as JSON-ready dict, without unset optional fields."""
        return self.model_dump(exclude_none=True)


class ChatRequest(BaseModel):
    """A ``POST /v1/chat/completions`` body."""

    model_config = ConfigDict(extra="allow")

    messages: list[ChatMessage] = Field(min_length=1)
    model: str | None = None
    # Strict, as OpenAI is: "yes", 1 or "0.5" is a client bug to report (400), not to guess.
    stream: bool = Field(default=False, strict=True)
    temperature: float | None = Field(default=None, strict=True, ge=0, le=2)
    top_p: float | None = Field(default=None, strict=True, ge=0, le=1)
    max_tokens: int | None = Field(default=None, strict=True, ge=1, le=MAX_INT32)
    max_completion_tokens: int | None = Field(default=None, strict=True, ge=1, le=MAX_INT32)
    n: int | None = Field(default=None, strict=True, ge=1, le=128)

    @field_validator("messages", mode="before")
    @classmethod
    def _messages_is_list(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("'messages' must be a list of message objects")
        return value

    @property
    def last_user_message(self) -> str:
        """The text of the latest ``user`` message ("" when there is none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text
        return ""

    def to_wire(self) -> dict[str, Any]:
        """JSON-ready body with every field the client sent, unset ones left out."""
        return self.model_dump(exclude_unset=True, exclude_none=False, by_alias=True)


def message_text(content: str | Sequence[Any] | None) -> str:
    """Text of a message content: a string as is; for part lists only ``text`` parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for part in content:
        if isinstance(part, dict) and part.get("type", "text") == "text":
            text = part.get("text")
            if isinstance(text, str):
                texts.append(text)
    return "\n".join(texts)


def parse_chat_request(body: bytes | str | dict[str, Any]) -> ChatRequest:
    """Parse and validate a chat request body, raising :class:`RequestError` (400) on any problem.

    The message names the first offending field the way a developer would look it up,
    e.g. ``messages[2].role``.
    """
    data = body if isinstance(body, dict) else parse_json_object(body)
    if "messages" not in data:
        raise RequestError("'messages' is required.", param="messages")
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _loc(first["loc"])
        message = first["msg"]
        if first["type"] == "literal_error" and where.endswith(".role"):
            message = f"role must be one of {', '.join(ROLES)}"
        if first["type"] == "too_short" and where == "messages":
            message = "must contain at least one message"
        raise RequestError(f"Invalid request: {where}: {message}", param=where) from None


def _loc(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def completion_id() -> str:
    """A fresh ``chatcmpl-...`` id."""
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def completion_chunk(
    *,
    id: str,
    model: str,
    content: str | None = None,
    role: str | None = None,
    finish_reason: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with a single choice."""
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created if created is not None else int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def chat_completion(
    *,
    content: str,
    model: str,
    id: str | None = None,
    finish_reason: str = "stop",
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A whole ``chat.completion`` with one assistant message."""
    body: dict[str, Any] = {
        "id": id or completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body
