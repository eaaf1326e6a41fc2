"""Agents that speak another API than Chat Completions (``agents[].api``).

The listener runs every turn as chat; an agent declared with ``api: responses`` or
``api: messages`` gets the turn's chat request translated into its API
(:func:`plano_asgi.responses.upstream.chat_to_responses`,
:func:`plano_asgi.wire.anthropic.openai_to_anthropic_request`) at ``/v1/responses`` or
``/v1/messages``, and its reply, JSON or event stream, is read back as chat chunks
(:class:`~plano_asgi.responses.upstream.ResponsesToChunks`,
:class:`~plano_asgi.wire.anthropic_stream.AnthropicToOpenAI`), one event at a time.

The completeness rules of :mod:`plano_asgi.listener.reading` hold in every API: a stream
is complete only when it ends with the API's own end (``response.completed`` /
``response.incomplete``; ``message_stop``); an error event (``response.failed``, ``error``)
or a stream that stops before its end is an :class:`~plano_asgi.errors.UpstreamError`
naming the agent. Chat agents are read by :func:`~plano_asgi.listener.reading.read_events`
unchanged.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator
from typing import Any

from plano_asgi.listener.reading import AgentEvent, read_events
from plano_asgi.listener.transport import AgentReply, AgentTarget

__all__ = ["agent_body", "agent_events"]


def agent_body(target: AgentTarget, chat: dict[str, Any]) -> bytes:
    """The request body for ``target`` in its API, from the turn's chat request."""
    body = chat
    if target.api != "chat_completions":
        # Loaded on first use, so a listener of chat agents does not import the translations.
        from plano_asgi.listener.agent_translation import translated_body

        body = translated_body(target, chat)
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


async def agent_events(target: AgentTarget, reply: AgentReply) -> AsyncGenerator[AgentEvent, None]:
    """The reply of ``target`` as chat events, whatever API it speaks."""
    if target.api == "chat_completions":
        events = read_events(reply)
    else:
        from plano_asgi.listener.agent_translation import translated_events

        events = translated_events(target, reply)
    async with contextlib.aclosing(events):
        async for event in events:
            yield event
