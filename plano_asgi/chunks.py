"""Between one ``chat.completion`` and its stream of ``chat.completion.chunk`` objects.

Both directions are needed wherever a client asks for one shape and the other side answers
the other: the listener when an agent streams to a non-streaming client (or answers JSON to a
streaming one), and the agent SDK when a handler's return value does not match the request.
Defined once here; the SDK imports it (the dependency only goes that way).
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["ChunkGatherer", "completion_chunks", "sum_usage"]


def _chunk(
    id: str, model: str, created: int, choices: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    body = {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
    }
    body.update(extra)
    return body


def _delta(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish}


def completion_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks a streaming client would have received for ``completion``.

    Per choice: a role chunk, the content, the tool calls (indexed), a ``finish_reason``
    chunk; then a usage-only chunk when the completion has usage.
    """
    id_ = str(completion.get("id", ""))
    model = str(completion.get("model", ""))
    created = int(completion.get("created") or time.time())
    out: list[dict[str, Any]] = []
    for choice in completion.get("choices") or []:
        index = choice.get("index", 0)
        message = choice.get("message") or {}
        role = message.get("role", "assistant")
        out.append(_chunk(id_, model, created, [_delta(index, {"role": role, "content": ""})]))
        if message.get("content"):
            out.append(
                _chunk(id_, model, created, [_delta(index, {"content": message["content"]})])
            )
        calls = message.get("tool_calls")
        if calls:
            indexed = [{"index": i, **call} for i, call in enumerate(calls)]
            out.append(_chunk(id_, model, created, [_delta(index, {"tool_calls": indexed})]))
        finish = choice.get("finish_reason") or "stop"
        out.append(_chunk(id_, model, created, [_delta(index, {}, finish)]))
    if completion.get("usage") is not None:
        out.append(_chunk(id_, model, created, [], usage=completion["usage"]))
    return out


def sum_usage(usages: list[Any]) -> dict[str, int] | None:
    """Token counts added up over several answers (``None`` when none reported usage)."""
    total: dict[str, int] = {}
    for usage in usages:
        if not isinstance(usage, dict):
            continue
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            value = usage.get(key)
            if isinstance(value, int):
                total[key] = total.get(key, 0) + value
    return total or None


class ChunkGatherer:
    """Accumulates chunks per choice index into one ``chat.completion``.

    Content and tool-call fragments are joined, the last ``finish_reason`` of each choice
    and the last usage seen are kept.
    """

    def __init__(self, *, id: str, model: str) -> None:
        self.id = id
        self.model = model
        self.created: int | None = None
        self.usage: Any = None
        self.texts: dict[int, list[str]] = {}
        self.finish: dict[int, str] = {}
        self.calls: dict[int, dict[int, dict[str, Any]]] = {}

    def add(self, chunk: dict[str, Any]) -> None:
        """Take one chunk (a dict in the OpenAI chunk shape)."""
        if chunk.get("id"):
            self.id = str(chunk["id"])
        if chunk.get("model"):
            self.model = str(chunk["model"])
        self.created = self.created or chunk.get("created")
        if chunk.get("usage") is not None:
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            index = int(choice.get("index", 0))
            texts = self.texts.setdefault(index, [])
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                texts.append(delta["content"])
            for call in delta.get("tool_calls") or []:
                self._add_call(self.calls.setdefault(index, {}), call)
            if choice.get("finish_reason"):
                self.finish[index] = str(choice["finish_reason"])

    @property
    def text(self) -> str:
        """The content gathered so far for choice 0."""
        return "".join(self.texts.get(0, []))

    @staticmethod
    def _add_call(calls: dict[int, dict[str, Any]], part: dict[str, Any]) -> None:
        slot = calls.setdefault(
            int(part.get("index", len(calls))),
            {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
        )
        if part.get("id"):
            slot["id"] = part["id"]
        function = part.get("function") or {}
        slot["function"]["name"] += function.get("name") or ""
        slot["function"]["arguments"] += function.get("arguments") or ""

    def completion(self) -> dict[str, Any]:
        """The ``chat.completion`` of everything added."""
        choices = []
        for index in sorted(self.texts or {0: []}):
            text = "".join(self.texts.get(index, []))
            calls = self.calls.get(index)
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if calls:
                message["tool_calls"] = [calls[i] for i in sorted(calls)]
                message["content"] = text or None
            finish = self.finish.get(index, "tool_calls" if calls else "stop")
            choices.append({"index": index, "message": message, "finish_reason": finish})
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created or int(time.time()),
            "model": self.model,
            "choices": choices,
        }
        if self.usage is not None:
            body["usage"] = self.usage
        return body
