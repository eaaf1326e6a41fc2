"""Anthropic Messages clients on OpenAI-compatible models: requests in, responses out.

The request side maps ``system``, content blocks (text, images, ``tool_use``,
``tool_result``), tools and ``tool_choice`` to a Chat Completions request; the response
side maps a ``chat.completion`` back to a ``message`` with stop reason and usage.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from plano_asgi.wire.anthropic import TO_ANTHROPIC_STOP, text_of, tool_use_block

__all__ = ["anthropic_to_openai_request", "openai_to_anthropic_response"]


def _to_openai_part(block: dict[str, Any]) -> dict[str, Any] | None:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind == "image":
        source = block.get("source", {})
        if source.get("type") == "base64":
            url = f"data:{source.get('media_type')};base64,{source.get('data')}"
        else:
            url = source.get("url", "")
        return {"type": "image_url", "image_url": {"url": url}}
    return None


def _openai_content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    if all(part["type"] == "text" for part in parts):
        return "".join(part["text"] for part in parts)
    return parts


def anthropic_to_openai_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI chat request equivalent to an Anthropic Messages request."""
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": text_of(system)})
    for message in body.get("messages", ()):
        messages.extend(_openai_messages(message))
    out: dict[str, Any] = {"model": model, "messages": messages}
    for key in ("max_tokens", "temperature", "top_p", "stream"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("stream"):
        out["stream_options"] = {"include_usage": True}
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
    if body.get("tools"):
        out["tools"] = _openai_tools(body["tools"])
    choice = _openai_tool_choice(body.get("tool_choice"))
    if choice is not None:
        out["tool_choice"] = choice
    user = (body.get("metadata") or {}).get("user_id")
    if user:
        out["user"] = user
    return out


def _openai_messages(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The OpenAI messages of one Anthropic message: each tool result is a ``tool``
    message of its own, then the rest (text, images, tool calls) as one message."""
    role = message.get("role")
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for block in content or ():
        kind = block.get("type")
        if kind == "tool_result":
            result = block.get("content")
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": block.get("tool_use_id", ""),
                    "content": result if isinstance(result, str) else text_of(result),
                }
            )
        elif kind == "tool_use":
            calls.append(_openai_tool_call(block))
        else:
            part = _to_openai_part(block)
            if part is not None:
                parts.append(part)
    if parts or calls:
        rest: dict[str, Any] = {"role": role, "content": _openai_content(parts) if parts else None}
        if calls:
            rest["tool_calls"] = calls
        out.append(rest)
    return out


def _openai_tool_call(block: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic ``tool_use`` block as an OpenAI tool call (arguments as JSON text)."""
    return {
        "id": block.get("id", ""),
        "type": "function",
        "function": {
            "name": block.get("name", ""),
            "arguments": json.dumps(block.get("input", {})),
        },
    }


def _openai_tools(tools: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic tools as OpenAI function tools (a tool without a name is skipped)."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool["name"],
                "description": tool.get("description", ""),
                "parameters": tool.get("input_schema", {"type": "object"}),
            },
        }
        for tool in tools
        if "name" in tool
    ]


def _openai_tool_choice(choice: Any) -> str | dict[str, Any] | None:
    """Anthropic's ``tool_choice`` in OpenAI's words (``None``: leave the default)."""
    if not isinstance(choice, dict):
        return None
    kind = choice.get("type")
    if kind == "any":
        return "required"
    if kind in ("auto", "none"):
        return str(kind)
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name")}}
    return None


def openai_to_anthropic_response(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic ``message`` equivalent to an OpenAI ``chat.completion``."""
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    text = text_of(message.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    content.extend(tool_use_block(call) for call in message.get("tool_calls") or ())
    usage = body.get("usage") or {}
    return {
        "id": "msg_" + str(body.get("id") or uuid.uuid4().hex).removeprefix("chatcmpl-"),
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or model,
        "content": content,
        "stop_reason": TO_ANTHROPIC_STOP.get(choice.get("finish_reason") or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": {
            "input_tokens": int(usage.get("prompt_tokens", 0)),
            "output_tokens": int(usage.get("completion_tokens", 0)),
        },
    }
