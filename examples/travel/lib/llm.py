"""Talking to the models through the gateway: JSON extraction and the streamed answer.

Both degrade instead of failing: extraction returns None when the model is unreachable,
refuses, or answers something that is not the JSON asked for, and the caller then uses the
deterministic parser. :func:`stream_answer` raises :class:`LLMUnavailableError` so the caller
can fall back to the answer rendered from data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import openai

from examples.travel.lib.conversation import Turn

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionMessageParam

__all__ = ["LLMUnavailableError", "chat_messages", "extract_json", "stream_answer"]

logger = logging.getLogger("examples.travel")


class LLMUnavailableError(Exception):
    """The model could not be used for this answer (unreachable, refused, or cut off)."""


def chat_messages(system: str, turns: Sequence[Turn]) -> list[ChatCompletionMessageParam]:
    """A system prompt followed by the conversation, agent names kept on assistant turns."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for turn in turns:
        role = turn.role if turn.role in ("user", "assistant") else "user"
        message: dict[str, Any] = {"role": role, "content": turn.text}
        if turn.name and role == "assistant":
            message["name"] = turn.name
        messages.append(message)
    return cast("list[ChatCompletionMessageParam]", messages)


async def extract_json(
    client: AsyncOpenAI, *, model: str, system: str, turns: Sequence[Turn], time_limit: float
) -> dict[str, Any] | None:
    """Ask ``model`` for a JSON object about the conversation; None if that fails in any way."""
    try:
        fast = client.with_options(timeout=time_limit, max_retries=0)
        completion = await fast.chat.completions.create(
            model=model,
            messages=chat_messages(system, turns),
            response_format={"type": "json_object"},
            temperature=0,
        )
        content = completion.choices[0].message.content if completion.choices else None
        data = json.loads(content or "")
    except (openai.OpenAIError, ValueError, IndexError, AttributeError) as exc:
        logger.info("extraction with %s failed (%s); using the parser", model, type(exc).__name__)
        return None
    if not isinstance(data, dict):
        logger.info("extraction with %s returned %s, not an object", model, type(data).__name__)
        return None
    return data


async def stream_answer(
    client: AsyncOpenAI,
    *,
    model: str,
    system: str,
    turns: Sequence[Turn],
    time_limit: float,
) -> AsyncIterator[str]:
    """Stream ``model``'s answer text; raise :class:`LLMUnavailableError` if it fails."""
    try:
        fast = client.with_options(timeout=time_limit, max_retries=0)
        stream = await fast.chat.completions.create(
            model=model, messages=chat_messages(system, turns), stream=True
        )
        async with stream:
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta is not None and choice.delta.content:
                        yield choice.delta.content
    except (openai.OpenAIError, ValueError) as exc:
        logger.info("answer from %s failed: %s", model, type(exc).__name__)
        raise LLMUnavailableError(str(type(exc).__name__)) from exc
