"""The other direction: a hop that *speaks* the Responses API, reached from a chat turn.

The rest of this package serves Responses clients over chat; this module is for an agent
declared with ``agents[].api: responses``, which the listener calls with a chat turn:

* :func:`chat_to_responses`: a chat request body as a Responses request body (leading
  system messages become ``instructions``, tool calls ``function_call`` items, tool results
  ``function_call_output`` items; tools, ``tool_choice``, ``max_tokens`` and
  ``response_format`` mapped back);
* :func:`response_to_completion`: a ``response`` object as a ``chat.completion``;
* :class:`ResponsesToChunks`: Responses stream events as chat chunks, one event at a time,
  with ``done`` once the stream ended properly (``response.completed`` or
  ``response.incomplete``) and ``error`` when it reported a failure.

Pure (no I/O), like the rest of the package.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

__all__ = ["ResponsesToChunks", "chat_to_responses", "response_to_completion"]

Item = dict[str, Any]

_PASSED = ("model", "stream", "temperature", "top_p", "user", "metadata", "parallel_tool_calls")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        str(part.get("text", ""))
        for part in content or ()
        if isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text")
    )


def _input_content(content: Any) -> str | list[Item]:
    if isinstance(content, str) or content is None:
        return content or ""
    parts: list[Item] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            parts.append({"type": "input_text", "text": str(part.get("text", ""))})
        elif part.get("type") == "image_url":
            image = part.get("image_url")
            url = image.get("url", "") if isinstance(image, dict) else str(image or "")
            parts.append({"type": "input_image", "image_url": url, "detail": "auto"})
    return parts


def _items(messages: list[Item]) -> list[Item]:
    items: list[Item] = []
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if role in ("tool", "function"):
            call_id = message.get("tool_call_id") or message.get("name") or ""
            items.append(
                {"type": "function_call_output", "call_id": str(call_id), "output": _text(content)}
            )
        elif role == "assistant":
            text = _text(content)
            if text:
                items.append({"role": "assistant", "content": text})
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                items.append(
                    {
                        "type": "function_call",
                        "call_id": str(call.get("id", "")),
                        "name": str(function.get("name", "")),
                        "arguments": str(function.get("arguments") or ""),
                    }
                )
        else:
            items.append({"role": role, "content": _input_content(content)})
    return items


def chat_to_responses(chat: dict[str, Any]) -> dict[str, Any]:
    """The Responses request body equivalent to the chat request body ``chat``."""
    messages = list(chat.get("messages") or ())
    system: list[str] = []
    while messages and messages[0].get("role") in ("system", "developer"):
        system.append(_text(messages.pop(0).get("content")))
    body: dict[str, Any] = {"input": _items(messages)}
    if any(system):
        body["instructions"] = "\n\n".join(part for part in system if part)
    for name in _PASSED:
        if chat.get(name) is not None:
            body[name] = chat[name]
    limit = chat.get("max_completion_tokens") or chat.get("max_tokens")
    if limit is not None:
        body["max_output_tokens"] = limit
    if chat.get("tools"):
        body["tools"] = [
            {"type": "function", **(tool.get("function") or {})}
            for tool in chat["tools"]
            if isinstance(tool, dict) and tool.get("type") == "function"
        ]
    choice = chat.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        body["tool_choice"] = {
            "type": "function",
            "name": (choice.get("function") or {}).get("name"),
        }
    elif choice is not None:
        body["tool_choice"] = choice
    form = chat.get("response_format")
    if isinstance(form, dict) and form.get("type") == "json_schema":
        body["text"] = {"format": {"type": "json_schema", **(form.get("json_schema") or {})}}
    elif isinstance(form, dict) and form.get("type") == "json_object":
        body["text"] = {"format": {"type": "json_object"}}
    return body


def _chat_usage(usage: Any) -> dict[str, int] | None:
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("input_tokens") or 0)
    completion = int(usage.get("output_tokens") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
    }


def _chat_id(response_id: Any) -> str:
    return "chatcmpl-" + str(response_id or uuid.uuid4().hex).removeprefix("resp_")


def response_to_completion(response: dict[str, Any]) -> dict[str, Any]:
    """The ``chat.completion`` equivalent to a ``response`` object."""
    texts: list[str] = []
    calls: list[Item] = []
    for item in response.get("output") or ():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            texts.append(_text(item.get("content")))
        elif item.get("type") == "function_call":
            calls.append(
                {
                    "id": str(item.get("call_id") or item.get("id") or ""),
                    "type": "function",
                    "function": {
                        "name": str(item.get("name", "")),
                        "arguments": str(item.get("arguments") or ""),
                    },
                }
            )
    message: Item = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    if response.get("status") == "incomplete":
        finish = "length"
    else:
        finish = "tool_calls" if calls else "stop"
    body: dict[str, Any] = {
        "id": _chat_id(response.get("id")),
        "object": "chat.completion",
        "created": int(response.get("created_at") or time.time()),
        "model": str(response.get("model") or ""),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }
    usage = _chat_usage(response.get("usage"))
    if usage is not None:
        body["usage"] = usage
    return body


class ResponsesToChunks:
    """Responses stream events in, chat chunks out, for one streamed response."""

    def __init__(self, model: str = "") -> None:
        self.done = False
        """True once ``response.completed`` or ``response.incomplete`` arrived."""
        self.error: str | None = None
        """What a ``response.failed`` or ``error`` event reported."""
        self._id = _chat_id(None)
        self._model = model
        self._created = int(time.time())
        self._calls: dict[int, int] = {}
        """Output index of a ``function_call`` item -> its chat tool-call index."""
        self._started = False

    def _chunk(self, delta: Item, finish: str | None = None) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _begin(self, response: Any = None) -> list[dict[str, Any]]:
        if isinstance(response, dict) and not self._started:
            if response.get("id"):
                self._id = _chat_id(response["id"])
            self._model = str(response.get("model") or self._model)
        if self._started:
            return []
        self._started = True
        return [self._chunk({"role": "assistant", "content": ""})]

    def on_event(self, name: str | None, data: dict[str, Any]) -> list[dict[str, Any]]:
        """The chunks for one event (``name`` is the SSE event name, else ``data["type"]``)."""
        kind = name or str(data.get("type") or "")
        if kind in ("response.created", "response.in_progress"):
            return self._begin(data.get("response"))
        if kind == "response.output_text.delta":
            return [*self._begin(), self._chunk({"content": str(data.get("delta", ""))})]
        if kind == "response.output_item.added":
            item = data.get("item") or {}
            if item.get("type") != "function_call":
                return []
            index = len(self._calls)
            self._calls[int(data.get("output_index", 0))] = index
            call = {
                "index": index,
                "id": str(item.get("call_id", "")),
                "type": "function",
                "function": {"name": str(item.get("name", "")), "arguments": ""},
            }
            return [*self._begin(), self._chunk({"tool_calls": [call]})]
        if kind == "response.function_call_arguments.delta":
            index = self._calls.get(int(data.get("output_index", 0)), 0)
            call = {"index": index, "function": {"arguments": str(data.get("delta", ""))}}
            return [self._chunk({"tool_calls": [call]})]
        if kind in ("response.completed", "response.incomplete"):
            return self._end(kind, data.get("response"))
        if kind == "response.failed":
            error = (data.get("response") or {}).get("error") or {}
            self.error = str(error.get("message") or "the response failed")
        elif kind == "error":
            nested = data.get("error")
            inner = nested.get("message") if isinstance(nested, dict) else None
            self.error = str(data.get("message") or inner or "an error event")
        return []

    def _end(self, kind: str, response: Any) -> list[dict[str, Any]]:
        self.done = True
        if kind == "response.incomplete":
            finish = "length"
        else:
            finish = "tool_calls" if self._calls else "stop"
        out = [*self._begin(response), self._chunk({}, finish)]
        usage = _chat_usage(response.get("usage") if isinstance(response, dict) else None)
        if usage is not None:
            out.append({**self._chunk({}), "choices": [], "usage": usage})
        return out
