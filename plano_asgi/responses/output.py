"""A Chat Completions answer turned into a Responses API ``response`` object.

:func:`output_items` maps the assistant message of a ``chat.completion`` to Responses
output items (one ``message`` with ``output_text``, then one ``function_call`` per tool
call); :func:`response_object` wraps items in the ``response`` the client gets, with usage
in the Responses names and ``incomplete`` when the model stopped at ``max_output_tokens``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from plano_asgi.responses.request import ResponsesRequest

__all__ = ["item_id", "message_item", "output_items", "response_object", "response_usage"]

Item = dict[str, Any]


def item_id(prefix: str) -> str:
    """A fresh output item id (``msg_...``, ``fc_...``)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def message_item(text: str, *, id: str | None = None, status: str = "completed") -> Item:
    """An assistant ``message`` output item holding ``text``."""
    return {
        "id": id or item_id("msg"),
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def function_call_item(
    call_id: str, name: str, arguments: str, *, id: str | None = None, status: str = "completed"
) -> Item:
    """A ``function_call`` output item."""
    return {
        "id": id or item_id("fc"),
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def output_items(completion: dict[str, Any]) -> list[Item]:
    """The output items of a ``chat.completion`` (its first choice)."""
    choices = completion.get("choices") or [{}]
    message = choices[0].get("message") or {}
    items: list[Item] = []
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    if content:
        items.append(message_item(str(content)))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        items.append(
            function_call_item(
                str(call.get("id") or item_id("call")),
                str(function.get("name", "")),
                str(function.get("arguments") or ""),
            )
        )
    if not items:
        items.append(message_item(""))
    return items


def response_usage(usage: Any) -> Item | None:
    """Chat ``usage`` in the Responses names (``input_tokens``, ``output_tokens``, ...)."""
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": int(cached)},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": int(reasoning)},
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
    }


def response_object(
    request: ResponsesRequest,
    *,
    response_id: str,
    model: str,
    output: Sequence[Item],
    status: str = "completed",
    usage: Item | None = None,
    stored: bool,
    created_at: float | None = None,
    error: Item | None = None,
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """The ``response`` object for ``request``; ``finish_reason="length"`` makes it incomplete."""
    body = request.body
    incomplete = None
    if status == "completed" and finish_reason == "length":
        status = "incomplete"
        incomplete = {"reason": "max_output_tokens"}
    text = body.get("text") if isinstance(body.get("text"), dict) else {"format": {"type": "text"}}
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(created_at if created_at is not None else time.time()),
        "status": status,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": request.instructions,
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "output": list(output),
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": request.previous_response_id,
        "store": stored,
        "temperature": body.get("temperature"),
        "text": text,
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": request.tools,
        "top_p": body.get("top_p"),
        "truncation": "disabled",
        "usage": usage,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }
