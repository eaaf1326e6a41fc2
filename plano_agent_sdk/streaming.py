"""Turn whatever a handler returns into one ``chat.completion`` or a stream of chunks.

A handler may return a ``str``, a chat completion (dict or openai ``ChatCompletion``), an
async iterator of ``str`` or of chunks (dicts or openai ``ChatCompletionChunk``), an
upstream openai ``AsyncStream``, or be an async generator itself. The client's ``stream``
flag alone decides the wire shape:

- streaming: chunks go out as they are produced. The first chunk carries
  ``role: assistant``, a final chunk carries ``finish_reason`` (added when the source had
  none), upstream chunks (including a usage-only chunk) pass through unchanged;
- not streaming: the pieces are gathered into one ``chat.completion`` (content, tool calls,
  finish reason and usage carried over).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterable, Mapping
from typing import Any, TypeAlias

import anyio
from openai import AsyncStream, BaseModel
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from plano_asgi.chat import chat_completion, completion_chunk

__all__ = ["Chunk", "HandlerResult", "to_chunks", "to_completion"]

#: One streamed piece: a dict in the OpenAI chunk shape or an openai ``ChatCompletionChunk``.
Chunk: TypeAlias = Mapping[str, Any] | ChatCompletionChunk

#: Everything a handler may return (an async generator handler produces the iterator form).
HandlerResult: TypeAlias = (
    str
    | Mapping[str, Any]
    | ChatCompletion
    | AsyncIterable[str]
    | AsyncIterable[Chunk]
    | AsyncIterable[str | Chunk]
    | AsyncStream[ChatCompletionChunk]
)


def _as_dict(value: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.to_dict(mode="json")
    return dict(value)


def _is_stream(result: object) -> bool:
    return hasattr(result, "__aiter__") and not isinstance(result, str | Mapping | BaseModel)


async def _aclose(source: object) -> None:
    # Shielded: this runs while the request may be cancelled (client gone), and the
    # upstream connection must still be released properly.
    with anyio.CancelScope(shield=True):
        if isinstance(source, AsyncStream):
            await source.close()
        else:
            close = getattr(source, "aclose", None)
            if close is not None:
                await close()


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


def _completion_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
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


def _delta(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish}


async def to_chunks(
    result: HandlerResult, *, id: str, model: str
) -> AsyncGenerator[dict[str, Any], None]:
    """Yield the chunks for ``result``, each as soon as the handler produces it.

    ``id``/``model`` are used for chunks made from text; upstream chunks keep their own.
    Closing this iterator closes the source (an upstream stream's connection included).
    """
    if isinstance(result, str):
        yield completion_chunk(id=id, model=model, role="assistant", content="")
        if result:
            yield completion_chunk(id=id, model=model, content=result)
        yield completion_chunk(id=id, model=model, finish_reason="stop")
        return
    if not _is_stream(result):
        for chunk in _completion_chunks(_as_dict(result)):  # type: ignore[arg-type]
            yield chunk
        return
    source: AsyncIterable[Any] = result  # type: ignore[assignment]
    role_sent = False
    finished = False
    try:
        async for item in source:
            if isinstance(item, str):
                if not item:
                    continue
                if not role_sent:
                    role_sent = True
                    yield completion_chunk(id=id, model=model, role="assistant", content="")
                yield completion_chunk(id=id, model=model, content=item)
                continue
            chunk = _as_dict(item)
            chunk.setdefault("object", "chat.completion.chunk")
            choices = list(chunk.get("choices") or [])
            if choices and not role_sent:
                first = dict(choices[0])
                first["delta"] = {"role": "assistant", **(first.get("delta") or {})}
                choices[0] = first
                chunk["choices"] = choices
            role_sent = role_sent or bool(choices)
            finished = finished or any(c.get("finish_reason") for c in choices)
            yield chunk
    finally:
        await _aclose(source)
    if not role_sent:
        yield completion_chunk(id=id, model=model, role="assistant", content="")
    if not finished:
        yield completion_chunk(id=id, model=model, finish_reason="stop")


async def to_completion(result: HandlerResult, *, id: str, model: str) -> dict[str, Any]:
    """One ``chat.completion`` for ``result``; streams are read to the end and gathered."""
    if isinstance(result, str):
        return chat_completion(content=result, model=model, id=id)
    if not _is_stream(result):
        return _as_dict(result)  # type: ignore[arg-type]
    gathered = _Gathered(id=id, model=model)
    chunks = to_chunks(result, id=id, model=model)
    try:
        async for chunk in chunks:
            gathered.add(chunk)
    finally:
        await chunks.aclose()
    return gathered.completion()


class _Gathered:
    """Accumulates chunks per choice index into a completion."""

    def __init__(self, *, id: str, model: str) -> None:
        self.id = id
        self.model = model
        self.created: int | None = None
        self.usage: Any = None
        self.texts: dict[int, list[str]] = {}
        self.finish: dict[int, str] = {}
        self.calls: dict[int, dict[int, dict[str, Any]]] = {}

    def add(self, chunk: dict[str, Any]) -> None:
        if chunk.get("id"):
            self.id = str(chunk["id"])
        if chunk.get("model"):
            self.model = str(chunk["model"])
        self.created = self.created or chunk.get("created")
        if chunk.get("usage") is not None:
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            index = int(choice.get("index", 0))
            texts = self.texts.setdefault(index, [])
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                texts.append(delta["content"])
            for call in delta.get("tool_calls") or []:
                self._add_call(self.calls.setdefault(index, {}), call)
            if choice.get("finish_reason"):
                self.finish[index] = str(choice["finish_reason"])

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
