"""A Responses API request (``POST /v1/responses``) checked and turned into Chat Completions.

:func:`parse_responses_request` checks the fields we act on and names the one at fault;
:func:`input_items` gives the request's ``input`` as items (a string is one user message);
:func:`chat_request` builds the equivalent ``/v1/chat/completions`` body from the whole
conversation (stored turns first, see :mod:`plano_asgi.state`).

Mapped: messages of every role (``developer`` becomes ``system``), text and image parts,
``function_call`` / ``function_call_output`` items, ``reasoning`` items (dropped), function
tools, ``tool_choice``, ``text.format`` (JSON schema / JSON object), ``max_output_tokens``,
``temperature``, ``top_p``, ``parallel_tool_calls``, ``user``. Built-in tools (web search,
file search, ...) and ``item_reference`` items are refused with a 400 naming them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from plano_asgi.errors import RequestError

__all__ = ["ResponsesRequest", "chat_request", "input_items", "parse_responses_request"]

Item = dict[str, Any]

_TEXT_PARTS = ("input_text", "output_text", "text", "summary_text")
_PASSED = ("temperature", "top_p", "parallel_tool_calls", "user")


@dataclass(frozen=True, slots=True)
class ResponsesRequest:
    """The fields of a Responses request the translation uses; ``body`` is the whole JSON."""

    body: dict[str, Any]
    model: str | None
    input: list[Item]
    instructions: str | None = None
    previous_response_id: str | None = None
    store: bool = True
    stream: bool = False
    tools: list[Item] = field(default_factory=list)


def _invalid(param: str, problem: str) -> RequestError:
    return RequestError(f"Invalid request: {param}: {problem}", param=param.split("[")[0])


def _typed(body: dict[str, Any], name: str, kind: type | tuple[type, ...], noun: str) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if kind is bool:
        valid = isinstance(value, bool)
    else:
        valid = isinstance(value, kind) and not isinstance(value, bool)
    if not valid:
        raise _invalid(name, f"Input should be a valid {noun}")
    return value


def parse_responses_request(body: dict[str, Any]) -> ResponsesRequest:
    """Check ``body``'s fields and return them; a wrong one is a 400 naming it."""
    model = _typed(body, "model", str, "string")
    if "input" not in body:
        raise _invalid("input", "Field required")
    items = input_items(body["input"])
    chat_messages(items, None)  # refuses content it cannot map, naming input[i]
    tools = _typed(body, "tools", list, "list")
    for index, tool in enumerate(tools or ()):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise _invalid(
                f"tools[{index}].type",
                f"'{kind}' is not supported here; only 'function' tools are",
            )
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise _invalid(f"tools[{index}].name", "Field required")
    for name in ("temperature", "top_p"):
        _typed(body, name, (int, float), "number")
    _typed(body, "max_output_tokens", int, "integer")
    return ResponsesRequest(
        body=body,
        model=model,
        input=items,
        instructions=_typed(body, "instructions", str, "string"),
        previous_response_id=_typed(body, "previous_response_id", str, "string"),
        store=_typed(body, "store", bool, "boolean") is not False,
        stream=_typed(body, "stream", bool, "boolean") is True,
        tools=list(tools or ()),
    )


def input_items(value: Any) -> list[Item]:
    """The ``input`` of a request as a list of items; a 400 naming the bad item otherwise."""
    if isinstance(value, str):
        return [_user_text(value)]
    if not isinstance(value, list):
        raise _invalid("input", "Input should be a string or a list of items")
    items: list[Item] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise _invalid(f"input[{index}]", "Input should be an object")
        kind = item.get("type", "message")
        if kind == "message":
            if item.get("role") not in ("user", "assistant", "system", "developer"):
                raise _invalid(
                    f"input[{index}].role",
                    "Input should be 'user', 'assistant', 'system' or 'developer'",
                )
            content = item.get("content")
            if not isinstance(content, str | list):
                raise _invalid(f"input[{index}].content", "Input should be a string or a list")
        elif kind == "function_call":
            for name in ("call_id", "name", "arguments"):
                if not isinstance(item.get(name), str):
                    raise _invalid(f"input[{index}].{name}", "Input should be a valid string")
        elif kind == "function_call_output":
            if not isinstance(item.get("call_id"), str):
                raise _invalid(f"input[{index}].call_id", "Input should be a valid string")
        elif kind != "reasoning":
            raise _invalid(f"input[{index}].type", f"'{kind}' items are not supported here")
        items.append(item)
    return items


def _user_text(text: str) -> Item:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def _chat_content(content: str | list[Any], where: str) -> str | list[Item]:
    if isinstance(content, str):
        return content
    parts: list[Item] = []
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _TEXT_PARTS:
            parts.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "refusal":
            parts.append({"type": "text", "text": str(part.get("refusal", ""))})
        elif kind == "input_image" and isinstance(part, dict):
            url = part.get("image_url")
            if not isinstance(url, str):
                raise _invalid(f"{where}[{index}].image_url", "an image URL or data URL is needed")
            image: Item = {"url": url}
            if part.get("detail"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        else:
            raise _invalid(f"{where}[{index}].type", f"'{kind}' content is not supported here")
    if all(part["type"] == "text" for part in parts):
        return "".join(part["text"] for part in parts)
    return parts


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(str(part.get("text", "")) for part in output if isinstance(part, dict))
    return json.dumps(output)


def chat_messages(items: Sequence[Item], instructions: str | None) -> list[Item]:
    """Chat messages for a conversation given as Responses items."""
    messages: list[Item] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    for index, item in enumerate(items):
        kind = item.get("type", "message")
        if kind == "message":
            role = "system" if item["role"] == "developer" else item["role"]
            content = _chat_content(item["content"], f"input[{index}].content")
            if role == "assistant" and isinstance(content, list):
                content = "".join(str(part.get("text", "")) for part in content)
            messages.append({"role": role, "content": content})
        elif kind == "function_call":
            call = {
                "id": item["call_id"],
                "type": "function",
                "function": {"name": item["name"], "arguments": item["arguments"]},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            elif last is not None and last["role"] == "assistant" and last.get("content"):
                last["tool_calls"] = [call]
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item["call_id"],
                    "content": _output_text(item.get("output", "")),
                }
            )
        # reasoning items carry nothing a chat model can take
    return messages


def _chat_tool(tool: Item) -> Item:
    function = {"name": tool["name"]}
    for name in ("description", "parameters", "strict"):
        if tool.get(name) is not None:
            function[name] = tool[name]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    return choice


def _response_format(text: Any) -> Item | None:
    if not isinstance(text, dict) or not isinstance(text.get("format"), dict):
        return None
    fmt = text["format"]
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    return None


def chat_request(request: ResponsesRequest, conversation: Sequence[Item]) -> dict[str, Any]:
    """The ``/v1/chat/completions`` body equivalent to ``request`` over ``conversation``."""
    body = request.body
    chat: dict[str, Any] = {"messages": chat_messages(conversation, request.instructions)}
    if request.model is not None:
        chat["model"] = request.model
    for name in _PASSED:
        if body.get(name) is not None:
            chat[name] = body[name]
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    if request.tools:
        chat["tools"] = [_chat_tool(tool) for tool in request.tools]
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    if request.stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat
