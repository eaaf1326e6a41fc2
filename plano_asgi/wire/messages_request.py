"""Checking an Anthropic Messages request (``POST /v1/messages``) before anything acts on it.

The gateway's ``/v1/messages`` and the agent listener's share :func:`check_messages_request`:
a request that passes it can be routed, rate limited and translated
(:mod:`~plano_asgi.wire.anthropic_inbound`) without surprises; one that does not is a
400 naming the first field at fault, as Anthropic names it (``messages[0].content[1].text``).
Fields the translation never reads are left to the provider.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from plano_asgi.chat import MAX_INT32
from plano_asgi.errors import RequestError

__all__ = ["check_messages_request"]


def _bad(where: str, what: str) -> RequestError:
    return RequestError(f"Invalid request: {where}: {what}", param=where)


def check_messages_request(data: dict[str, Any]) -> None:
    """Raise a 400 naming the field when ``data`` is not an Anthropic Messages request.

    ``messages`` (``user`` / ``assistant`` turns of text or content blocks) and
    ``max_tokens`` are required, as Anthropic requires them.
    """
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise _bad("messages", "required, a list of messages")
    if not messages:
        raise _bad("messages", "must contain at least one message")
    for number, message in enumerate(messages):
        where = f"messages[{number}]"
        if not isinstance(message, dict):
            raise _bad(where, "must be an object")
        if message.get("role") not in ("user", "assistant"):
            raise _bad(f"{where}.role", "must be user or assistant")
        content = message.get("content")
        if isinstance(content, list):
            _check_blocks(content, f"{where}.content")
        elif not isinstance(content, str):
            raise _bad(f"{where}.content", "must be a string or a list of content blocks")
    tokens = data.get("max_tokens")
    if not _is_int(tokens) or not 1 <= tokens <= MAX_INT32:
        raise _bad("max_tokens", "required, a positive integer")
    _check_scalars(data)
    system = data.get("system")
    if isinstance(system, list):
        _check_blocks(system, "system")
    elif system is not None and not isinstance(system, str):
        raise _bad("system", "must be a string or a list of text blocks")
    _check_tools(data)


def _check_scalars(data: dict[str, Any]) -> None:
    for name, kind, noun in (("stream", bool, "boolean"), ("model", str, "string")):
        value = data.get(name)
        if value is not None and not isinstance(value, kind):
            raise _bad(name, f"Input should be a valid {noun}")
    for name in ("temperature", "top_p"):
        value = data.get(name)
        if value is not None and (not _is_number(value) or not 0 <= value <= 1):
            raise _bad(name, "must be a number from 0 to 1")
    top_k = data.get("top_k")
    if top_k is not None and (not _is_int(top_k) or not 0 <= top_k <= MAX_INT32):
        raise _bad("top_k", "must be a non-negative integer")
    stops = data.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
    ):
        raise _bad("stop_sequences", "must be a list of strings")
    metadata = data.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise _bad("metadata", "must be an object")
        user = metadata.get("user_id")
        if user is not None and not isinstance(user, str):
            raise _bad("metadata.user_id", "must be a string")


def _check_tools(data: dict[str, Any]) -> None:
    tools = data.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _bad("tools", "must be a list of tools")
        for number, tool in enumerate(tools):
            where = f"tools[{number}]"
            if not isinstance(tool, dict):
                raise _bad(where, "must be an object")
            if not isinstance(tool.get("name"), str):
                raise _bad(f"{where}.name", "required, a string")
            _optional(tool, "description", str, "a string", where)
            _optional(tool, "input_schema", dict, "an object", where)
    choice = data.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):
            raise _bad("tool_choice", "must be an object with a type")
        _optional(choice, "name", str, "a string", "tool_choice")


def _check_blocks(blocks: list[Any], where: str) -> None:
    for number, block in enumerate(blocks):
        at = f"{where}[{number}]"
        if not isinstance(block, dict):
            raise _bad(at, "must be a content block object")
        kind = block.get("type")
        if not isinstance(kind, str):
            raise _bad(f"{at}.type", "required, a string")
        if kind == "text" and not isinstance(block.get("text"), str):
            raise _bad(f"{at}.text", "required, a string")
        if kind == "image":
            source = block.get("source")
            if not isinstance(source, dict):
                raise _bad(f"{at}.source", "required, an object")
            for name in ("type", "media_type", "data", "url"):
                _optional(source, name, str, "a string", f"{at}.source")
        if kind == "tool_use":
            for name in ("id", "name"):
                _optional(block, name, str, "a string", at)
        if kind == "tool_result":
            _optional(block, "tool_use_id", str, "a string", at)
            result = block.get("content")
            if isinstance(result, list):
                _check_blocks(result, f"{at}.content")
            elif result is not None and not isinstance(result, str):
                raise _bad(f"{at}.content", "must be a string or a list of content blocks")


def _optional(item: dict[str, Any], name: str, kind: type, noun: str, where: str) -> None:
    value = item.get(name)
    if value is not None and not isinstance(value, kind):
        raise _bad(f"{where}.{name}", f"must be {noun}")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
