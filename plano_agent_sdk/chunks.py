"""``chat.completion.chunk`` helpers: build chunks from text, read text back out of SSE.

Building reuses :func:`plano_asgi.chat.completion_chunk` and SSE framing reuses
:mod:`plano_asgi.sse`, so the wire format is defined once. Reading follows Plano's rule
for intermediate agents (spec §2.6): parse each ``data:`` event as a chunk, concatenate
``choices[].delta.content``, skip ``[DONE]`` and events that do not parse.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import Any

from plano_asgi.chat import completion_chunk, completion_id
from plano_asgi.sse import DONE, SSEDecoder, encode_data, encode_json

__all__ = [
    "collect_text",
    "encode_chunks",
    "iter_chunks",
    "text_chunks",
]


async def text_chunks(
    texts: AsyncIterable[str], *, model: str, id: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Turn text pieces into chunks: a role chunk, one chunk per piece, a ``stop`` chunk.

    Empty pieces are skipped. Each piece is yielded as soon as it arrives.
    """
    chunk_id = id or completion_id()
    yield completion_chunk(id=chunk_id, model=model, role="assistant", content="")
    async for text in texts:
        if text:
            yield completion_chunk(id=chunk_id, model=model, content=text)
    yield completion_chunk(id=chunk_id, model=model, finish_reason="stop")


async def encode_chunks(chunks: AsyncIterable[dict[str, Any]]) -> AsyncIterator[bytes]:
    """Frame chunks as SSE ``data:`` events followed by ``data: [DONE]``."""
    async for chunk in chunks:
        yield encode_json(chunk)
    yield encode_data(DONE)


def iter_chunks(sse: bytes | str) -> Iterator[dict[str, Any]]:
    """The JSON object of every ``data:`` event in an SSE body; ``[DONE]`` and junk skipped."""
    decoder = SSEDecoder()
    for event in [*decoder.feed(sse), *decoder.flush(dispatch_unterminated=True)]:
        if event.is_done:
            continue
        try:
            value = event.json()
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value


def collect_text(sse: bytes | str) -> str:
    """Concatenate ``choices[].delta.content`` of an SSE chat stream (Plano's intermediate rule).

    This is exactly the text Plano hands the next agent when yours is not the last in a
    chain, so a test can assert what that agent will see.
    """
    parts: list[str] = []
    for chunk in iter_chunks(sse):
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            continue
        for choice in choices:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str):
                parts.append(content)
    return "".join(parts)
