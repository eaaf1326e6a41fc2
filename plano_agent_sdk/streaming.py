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

from collections.abc import AsyncGenerator, AsyncIterable, Mapping
from typing import Any, TypeAlias

import anyio
from openai import AsyncStream, BaseModel
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from plano_asgi.chat import chat_completion, completion_chunk
from plano_asgi.chunks import ChunkGatherer, completion_chunks

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
        for chunk in completion_chunks(_as_dict(result)):  # type: ignore[arg-type]
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
    gathered = ChunkGatherer(id=id, model=model)
    chunks = to_chunks(result, id=id, model=model)
    try:
        async for chunk in chunks:
            gathered.add(chunk)
    finally:
        await chunks.aclose()
    return gathered.completion()
