"""Reading one agent's reply as events, and refusing any reply that is not complete.

Whatever the agent sends, the listener reads it as a sequence of :class:`AgentEvent`
(OpenAI ``chat.completion.chunk`` objects, plus keep-alive pings), so the client can get the
shape it asked for (:mod:`plano_asgi.listener.answer`) and the next agent of a chain gets
the text. Nothing is buffered for a stream: each event is handed on as soon as it is whole.

A reply is complete only when:

* an event stream ends with ``data: [DONE]`` (a clean close without it, a close inside an
  event or a reset connection is a cut reply);
* a JSON body parses as a chat completion (a body shorter than its ``content-length``
  breaks off in the transport; a close-delimited body cut short does not parse).

Anything else raises :class:`~plano_asgi.errors.UpstreamError` naming the agent and what
happened, as does an error the agent reports itself (an error status, an ``{"error": ...}``
body or event). The agent's own message is passed on with secrets scrubbed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio

from plano_asgi.chat import completion_chunk, completion_id
from plano_asgi.chunks import completion_chunks
from plano_asgi.errors import UpstreamError, scrub_secrets
from plano_asgi.filters.http import rejection_message
from plano_asgi.listener.transport import AgentReply
from plano_asgi.sse import ServerSentEvent, SSEDecoder

__all__ = ["MAX_REPLY_BYTES", "PING", "AgentEvent", "agent_failure", "drain", "read_events"]

MAX_REPLY_BYTES = 8 * 1024 * 1024
"""Largest non-streamed agent reply read into memory."""

_MAX_ERROR_BYTES = 64 * 1024
_DRAIN_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """One piece of an agent's reply.

    ``chunk`` is the parsed ``chat.completion.chunk`` (``None`` for a ping or a data event
    that is not a JSON object); ``event`` the SSE event it came in, when it came in one
    (``None`` for chunks made from a JSON reply, and for pings).
    """

    chunk: dict[str, Any] | None = None
    event: ServerSentEvent | None = None

    @property
    def is_ping(self) -> bool:
        return self.chunk is None and self.event is None


PING = AgentEvent()


def _bad(agent: str, what: str, status: int | None = None) -> UpstreamError:
    return UpstreamError(
        f"Agent '{agent}' {what}.", hop="agent", target=agent, upstream_status=status
    )


async def read_events(reply: AgentReply) -> AsyncGenerator[AgentEvent, None]:
    """The events of a successful (2xx) reply, or an :class:`UpstreamError`."""
    if reply.status >= 300:
        raise await agent_failure(reply)
    if reply.is_event_stream:
        async for event in _stream_events(reply):
            yield event
        return
    for chunk in await _json_chunks(reply):
        yield AgentEvent(chunk=chunk)


async def _stream_events(reply: AgentReply) -> AsyncIterator[AgentEvent]:
    decoder = SSEDecoder()
    chunks = reply.chunks()
    async for raw in chunks:
        comments = decoder.comments
        events = decoder.feed(raw)
        if not events and decoder.comments > comments:
            yield PING
        for event in events:
            if event.is_done:
                await drain(chunks)
                return
            reply.progressed()
            try:
                data = event.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                yield AgentEvent(event=event)
                continue
            if data.get("error") is not None and not data.get("choices"):
                raise _bad(reply.agent, f"reported an error: {_agent_message(data)}")
            yield AgentEvent(chunk=data, event=event)
    where = "in the middle of an event" if decoder.has_partial_event else "without [DONE]"
    raise _bad(reply.agent, f"ended its event stream {where}; the answer is incomplete")


async def drain(chunks: AsyncGenerator[bytes, None]) -> None:
    # Read the (normally empty) rest of the body for a moment, so the connection of an
    # agent that ends its body right after [DONE] goes back to the pool instead of closing.
    with anyio.move_on_after(_DRAIN_SECONDS):
        try:
            async for _ in chunks:
                pass
        except UpstreamError:
            pass  # anything after [DONE] does not change a complete answer
    await chunks.aclose()


async def _json_chunks(reply: AgentReply) -> list[dict[str, Any]]:
    raw = bytearray()
    async for chunk in reply.chunks():
        reply.progressed()
        raw += chunk
        if len(raw) > MAX_REPLY_BYTES:
            raise _bad(reply.agent, f"sent a reply larger than {MAX_REPLY_BYTES} bytes")
    text = raw.decode("utf-8", "replace")
    content_type = (reply.header("content-type") or "").lower()
    if content_type.startswith("text/plain"):
        # A bare text answer is the assistant's content (Plano passes it on verbatim).
        cid = completion_id()
        return [
            completion_chunk(id=cid, model=reply.agent, role="assistant", content=text),
            completion_chunk(id=cid, model=reply.agent, finish_reason="stop"),
        ]
    try:
        data = json.loads(text)
    except ValueError:
        what = "is cut short or not JSON" if text.lstrip().startswith("{") else "is not JSON"
        raise _bad(reply.agent, f"sent a reply that {what}") from None
    if isinstance(data, dict) and data.get("error") is not None and not data.get("choices"):
        raise _bad(reply.agent, f"reported an error: {_agent_message(data)}")
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _bad(reply.agent, "sent JSON that is not a chat completion")
    if not isinstance(choices[0].get("message"), dict):
        raise _bad(reply.agent, "sent a chat completion without a message")
    return completion_chunks(data)


def _agent_message(data: Any) -> str:
    return scrub_secrets(rejection_message(json.dumps(data)))


async def agent_failure(reply: AgentReply) -> UpstreamError:
    """The error for an agent's error status, carrying the agent's own (scrubbed) message.

    A 4xx passes through: the agent's status, its message as the message, its ``type`` and
    ``code`` when it sent an OpenAI envelope. A 5xx (or a 3xx we do not follow) is a 502
    whose message names the agent, its status and what it said.
    """
    raw = bytearray()
    with anyio.move_on_after(reply.timeouts.idle):
        try:
            async for chunk in reply.chunks():
                raw += chunk
                if len(raw) >= _MAX_ERROR_BYTES:
                    break
        except UpstreamError:
            pass  # an error body that breaks off still says something
    text = bytes(raw[:_MAX_ERROR_BYTES]).decode("utf-8", "replace")
    message = scrub_secrets(rejection_message(text)) if text.strip() else ""
    status = reply.status
    if 400 <= status < 500:
        extra: dict[str, Any] = {}
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            names = ("type", "code", "param")
            extra = {k: error[k] for k in names if isinstance(error.get(k), str)}
        return UpstreamError(
            message or f"Agent '{reply.agent}' answered HTTP {status}.",
            hop="agent",
            target=reply.agent,
            upstream_status=status,
            status_code=status,
            extra=extra,
        )
    detail = f": {message}" if message else ""
    return _bad(reply.agent, f"failed with HTTP {status}{detail}", status)
