"""Translation between OpenAI Chat Completions and Anthropic Messages, whole bodies.

Both directions, so an OpenAI client can use a Claude model and an Anthropic client can
use any OpenAI-compatible model. Covered: system prompts, text and image content blocks,
tool definitions and choice, tool calls and tool results, stop reasons and usage.
This module covers OpenAI clients on Claude models and the shared pieces; Anthropic
clients on OpenAI-compatible models are in :mod:`plano_asgi.wire.anthropic_inbound`,
streams in :mod:`plano_asgi.wire.anthropic_stream`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from typing import Any

__all__ = [
    "anthropic_error",
    "anthropic_to_openai_response",
    "openai_to_anthropic_request",
]

#: Anthropic requires ``max_tokens``; OpenAI clients often omit it.
DEFAULT_MAX_TOKENS = 4096

TO_OPENAI_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
TO_ANTHROPIC_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def tool_use_block(call: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI ``tool_calls[]`` entry as an Anthropic ``tool_use`` block."""
    function = call.get("function", {})
    return {
        "type": "tool_use",
        "id": call.get("id", ""),
        "name": function.get("name", ""),
        "input": parse_args(function.get("arguments")),
    }


def parse_args(arguments: Any) -> Any:
    if isinstance(arguments, dict):
        return arguments
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return {"arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


# -- OpenAI request -> Anthropic request ------------------------------------------------


def _to_anthropic_part(part: Any) -> dict[str, Any] | None:
    if not isinstance(part, dict):
        return None
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "text": part.get("text", "")}
    if kind == "image_url":
        url = part.get("image_url", {})
        url = url.get("url", "") if isinstance(url, dict) else str(url)
        if url.startswith("data:") and ";base64," in url:
            media, data = url[5:].split(";base64,", 1)
            return {
                "type": "image",
                "source": {"type": "base64", "media_type": media, "data": data},
            }
        return {"type": "image", "source": {"type": "url", "url": url}}
    return None


def _to_anthropic_content(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = [_to_anthropic_part(part) for part in content or ()]
    return [block for block in blocks if block is not None]


def openai_to_anthropic_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic Messages request equivalent to an OpenAI chat request."""
    system, messages = _anthropic_messages(body.get("messages", ()))
    out: dict[str, Any] = {"model": model, "messages": messages}
    if system:
        out["system"] = "\n\n".join(part for part in system if part)
    out["max_tokens"] = (
        body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    )
    for key in ("temperature", "top_p", "stream"):
        if body.get(key) is not None:
            out[key] = body[key]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools"):
        out["tools"] = _anthropic_tools(body["tools"])
    choice = _anthropic_tool_choice(body.get("tool_choice"))
    if choice is not None:
        out["tool_choice"] = choice
    if body.get("user"):
        out["metadata"] = {"user_id": body["user"]}
    return out


def _anthropic_messages(
    openai_messages: Iterable[dict[str, Any]],
) -> tuple[list[str], list[dict[str, Any]]]:
    """The system texts and the Anthropic messages of OpenAI ``messages``: roles alternate,
    so consecutive messages of one role (tool results are the user's) merge into one."""
    system: list[str] = []
    messages: list[dict[str, Any]] = []

    def append(role: str, blocks: list[dict[str, Any]]) -> None:
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})

    for message in openai_messages:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system.append(text_of(content))
        elif role == "assistant":
            blocks = _to_anthropic_content(content)
            blocks.extend(tool_use_block(call) for call in message.get("tool_calls") or ())
            append("assistant", blocks)
        elif role in ("tool", "function"):
            result = {
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id") or message.get("name", ""),
                "content": text_of(content) if not isinstance(content, str) else content,
            }
            append("user", [result])
        else:
            append("user", _to_anthropic_content(content))
    return system, messages


def _anthropic_tools(tools: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI function tools as Anthropic tools (other tool types have no equivalent)."""
    return [
        {
            "name": tool["function"]["name"],
            "description": tool["function"].get("description", ""),
            "input_schema": tool["function"].get("parameters")
            or {"type": "object", "properties": {}},
        }
        for tool in tools
        if tool.get("type") == "function"
    ]


def _anthropic_tool_choice(choice: Any) -> dict[str, Any] | None:
    """OpenAI's ``tool_choice`` in Anthropic's words (``None``: leave the default)."""
    if choice == "required":
        return {"type": "any"}
    if choice in ("auto", "none"):
        return {"type": choice}
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "tool", "name": choice["function"]["name"]}
    return None


def anthropic_to_openai_response(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` equivalent to an Anthropic ``message``."""
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in body.get("content", ()):
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {
                        "name": block.get("name", ""),
                        "arguments": json.dumps(block.get("input", {})),
                    },
                }
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
    if calls:
        message["tool_calls"] = calls
    usage = body.get("usage") or {}
    prompt = int(usage.get("input_tokens", 0))
    completion = int(usage.get("output_tokens", 0))
    stop = body.get("stop_reason")
    return {
        "id": "chatcmpl-" + str(body.get("id", uuid.uuid4().hex)).removeprefix("msg_"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": TO_OPENAI_STOP.get(stop or "", "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


# -- errors --------------------------------------------------------------------------------

_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def anthropic_error(status: int, openai_envelope: dict[str, Any]) -> dict[str, Any]:
    """Re-shape our OpenAI error envelope for an Anthropic client, keeping the details."""
    error = dict(openai_envelope.get("error") or {})
    error["type"] = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": error}


def openai_error_from_anthropic(body: Any) -> dict[str, Any] | None:
    """The OpenAI envelope for an Anthropic error body (``None`` when it is not one)."""
    if (
        isinstance(body, dict)
        and body.get("type") == "error"
        and isinstance(body.get("error"), dict)
    ):
        error = body["error"]
        return {
            "error": {
                "message": str(error.get("message", "")),
                "type": str(error.get("type", "api_error")),
                "code": error.get("type"),
                "param": None,
            }
        }
    return None
