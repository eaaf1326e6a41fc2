"""Reading and writing the turn in an agent's own API (``agents[].api``: responses, messages).

Loaded by :mod:`plano_asgi.listener.agent_api` the first time an agent of another API is
called. Bodies: :func:`plano_asgi.responses.upstream.chat_to_responses`,
:func:`plano_asgi.wire.anthropic.openai_to_anthropic_request`. Replies: JSON through
:func:`plano_asgi.responses.upstream.response_to_completion` /
:func:`plano_asgi.wire.anthropic.anthropic_to_openai_response`, streams event by event
through :class:`~plano_asgi.responses.upstream.ResponsesToChunks` /
:class:`~plano_asgi.wire.anthropic_stream.AnthropicToOpenAI`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from plano_asgi.chunks import completion_chunks
from plano_asgi.errors import UpstreamError
from plano_asgi.listener.reading import (
    MAX_REPLY_BYTES,
    PING,
    AgentEvent,
    agent_failure,
    drain,
)
from plano_asgi.listener.transport import AgentReply, AgentTarget
from plano_asgi.responses.upstream import (
    ResponsesToChunks,
    chat_to_responses,
    response_to_completion,
)
from plano_asgi.sse import ServerSentEvent, SSEDecoder
from plano_asgi.wire.anthropic import anthropic_to_openai_response, openai_to_anthropic_request
from plano_asgi.wire.anthropic_stream import AnthropicToOpenAI
from plano_asgi.wire.streams import StreamFailedError

__all__ = ["translated_body", "translated_events"]


def translated_body(target: AgentTarget, chat: dict[str, Any]) -> dict[str, Any]:
    """The request body for ``target`` in its API, from the turn's chat request."""
    if target.api == "responses":
        return chat_to_responses(chat)
    return openai_to_anthropic_request(chat, str(chat.get("model") or target.id))


def _bad(agent: str, what: str) -> UpstreamError:
    return UpstreamError(f"Agent '{agent}' {what}.", hop="agent", target=agent)


async def translated_events(
    target: AgentTarget, reply: AgentReply
) -> AsyncGenerator[AgentEvent, None]:
    """The reply of an agent of another API, as chat events."""
    if reply.status >= 300:
        raise await agent_failure(reply)
    if reply.is_event_stream:
        async for event in _translated_stream(target, reply):
            yield event
        return
    for chunk in completion_chunks(await _translated_json(target, reply)):
        yield AgentEvent(chunk=chunk)


class _Reader:
    """One stream's translator behind a common face: events in, chunks out, ``done``."""

    def __init__(self, target: AgentTarget) -> None:
        self.api = target.api
        self.responses = ResponsesToChunks(target.id)
        self.anthropic = AnthropicToOpenAI(target.id)

    @property
    def done(self) -> bool:
        return self.responses.done if self.api == "responses" else self.anthropic.done

    def read(self, agent: str, sse: ServerSentEvent) -> list[dict[str, Any]]:
        if self.api == "responses":
            try:
                data = sse.json()
            except ValueError:
                raise _bad(agent, "sent a stream event that is not JSON") from None
            if not isinstance(data, dict):
                raise _bad(agent, "sent a stream event that is not a JSON object")
            chunks = self.responses.on_event(sse.event, data)
            if self.responses.error is not None:
                raise _bad(agent, f"reported an error: {self.responses.error}")
            return chunks
        try:
            return [event.data for event in self.anthropic.on_event(sse)]
        except StreamFailedError as exc:
            what = exc.message.replace("the provider", "it")
            raise _bad(agent, what) from None


async def _translated_stream(
    target: AgentTarget, reply: AgentReply
) -> AsyncGenerator[AgentEvent, None]:
    decoder = SSEDecoder()
    reader = _Reader(target)
    chunks = reply.chunks()
    async for raw in chunks:
        comments = decoder.comments
        events = decoder.feed(raw)
        if not events and decoder.comments > comments:
            yield PING
        for sse in events:
            if sse.event == "ping":
                yield PING  # Anthropic's keep-alive: not progress
                continue
            reply.progressed()
            for chunk in reader.read(target.id, sse):
                yield AgentEvent(chunk=chunk)
            if reader.done:
                await drain(chunks)
                return
    where = "in the middle of an event" if decoder.has_partial_event else "before its end event"
    raise _bad(target.id, f"ended its event stream {where}; the answer is incomplete")


async def _translated_json(target: AgentTarget, reply: AgentReply) -> dict[str, Any]:
    raw = bytearray()
    async for chunk in reply.chunks():
        reply.progressed()
        raw += chunk
        if len(raw) > MAX_REPLY_BYTES:
            raise _bad(target.id, f"sent a reply larger than {MAX_REPLY_BYTES} bytes")
    text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        what = "is cut short or not JSON" if text.lstrip().startswith("{") else "is not JSON"
        raise _bad(target.id, f"sent a reply that {what}") from None
    if not isinstance(data, dict):
        raise _bad(target.id, "sent JSON that is not an object")
    if target.api == "responses":
        if data.get("object") != "response" or not isinstance(data.get("output"), list):
            raise _bad(target.id, "sent JSON that is not a Responses 'response'")
        if data.get("status") == "failed" or data.get("error"):
            message = str((data.get("error") or {}).get("message") or "the response failed")
            raise _bad(target.id, f"reported an error: {message}")
        return response_to_completion(data)
    if data.get("type") == "error":
        message = str((data.get("error") or {}).get("message") or "")
        raise _bad(target.id, f"reported an error: {message}")
    if data.get("type") != "message" or not isinstance(data.get("content"), list):
        raise _bad(target.id, "sent JSON that is not an Anthropic 'message'")
    return anthropic_to_openai_response(data)
