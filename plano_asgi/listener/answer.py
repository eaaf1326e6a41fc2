"""The answer in the shape the client asked for, whatever shape the agents answered in.

A client that streams gets :class:`StreamAnswer`: an OpenAI chunk stream that ends with
``data: [DONE]``, sent event by event as the agents produce them (a JSON agent reply is
turned into chunks). A client that does not stream gets :class:`JsonAnswer`: one
``chat.completion`` gathered from the agents' events (content, tool calls, finish reason,
usage).

Several visible agents (listener ``answers: all``): each agent's chunks carry
``"agent": "<id>"``, a blank line separates one agent's text from the next, only the last
agent's ``finish_reason`` is kept, and a non-streamed answer joins the texts and lists them
per agent under ``"answers"``. With one agent, its events are relayed as it sent them.

Neither class reports errors: before the response starts the exchange answers with a real
status; after, it ends the stream with one error event (``plano_asgi.listener.exchange``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from plano_asgi.chat import completion_chunk, completion_id
from plano_asgi.chunks import ChunkGatherer, sum_usage
from plano_asgi.errors import PlanoError
from plano_asgi.listener.headers import relay_headers
from plano_asgi.listener.reading import AgentEvent
from plano_asgi.sse import encode_event, encode_json

__all__ = ["Answer", "Body", "JsonAnswer", "Start", "StreamAnswer"]

Start = Callable[[int, list[tuple[bytes, bytes]]], Awaitable[None]]
"""Sends ``http.response.start`` with a status and headers (the exchange's)."""
Body = Callable[[bytes, bool], Awaitable[None]]
"""Sends one body message: bytes and ``more_body``."""

_PING = b": ping\n\n"
_DONE = b"data: [DONE]\n\n"
SEPARATOR = "\n\n"
"""Between two agents' answers in one turn."""


class _Base:
    def __init__(self, start: Start, body: Body, ours: Mapping[str, str], *, mark: bool) -> None:
        self._start = start
        self._body = body
        self._ours = ours
        self._mark = mark
        self.started = False
        """True once ``http.response.start`` went out."""


class StreamAnswer(_Base):
    """An OpenAI chunk stream to the client, one event per agent event."""

    def __init__(self, start: Start, body: Body, ours: Mapping[str, str], *, mark: bool) -> None:
        super().__init__(start, body, ours, mark=mark)
        self._agent: str | None = None
        self._wrote_text = False
        self._needs_separator = False

    async def add(
        self, agent: str, event: AgentEvent, *, final: bool, headers: list[tuple[str, str]]
    ) -> None:
        """Send one agent event on to the client (starting the response on the first)."""
        if not self.started:
            await self._open(headers)
        if event.is_ping:
            await self._body(_PING, True)
            return
        if not self._mark:
            await self._emit(event.chunk, event)
            return
        if agent != self._agent:
            self._agent = agent
            self._needs_separator = self._wrote_text
        chunk = event.chunk
        if chunk is None:
            await self._emit(None, event)
            return
        chunk = _marked(chunk, agent, final=final)
        if _has_text(chunk):
            if self._needs_separator:
                self._needs_separator = False
                separator = completion_chunk(
                    id=str(chunk.get("id", "")),
                    model=str(chunk.get("model", "")),
                    content=SEPARATOR,
                )
                separator["agent"] = agent
                await self._emit(separator, None)
            self._wrote_text = True
        await self._emit(chunk, None)

    async def _emit(self, chunk: dict[str, Any] | None, event: AgentEvent | None) -> None:
        """Send one chat chunk; ``event`` is the SSE it came in, relayed as sent when given.

        Subclasses that speak another client API translate here.
        """
        if event is not None and event.event is not None:
            await self._body(_encode(event), True)
        elif chunk is not None:
            await self._body(encode_json(chunk), True)

    async def _end(self) -> None:
        """The bytes that end a complete stream (``[DONE]`` for chat clients)."""
        await self._body(_DONE, True)

    def error_event(self, error: PlanoError) -> bytes:
        """The in-band event that ends a stream broken after it started."""
        return encode_json(error.to_dict())

    async def _open(self, headers: list[tuple[str, str]]) -> None:
        own = dict(self._ours)
        agent_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if "text/event-stream" not in agent_type.lower():
            own["content-type"] = "text/event-stream; charset=utf-8"
        await self._start(200, relay_headers(headers, own, event_stream=True))
        self.started = True

    async def finish(self, headers: list[tuple[str, str]]) -> None:
        """End the stream with ``[DONE]`` (an answer with no events still gets one)."""
        if not self.started:
            await self._open(headers)
        await self._end()
        await self._body(b"", False)


class JsonAnswer(_Base):
    """One ``chat.completion`` for a client that did not ask to stream."""

    def __init__(self, start: Start, body: Body, ours: Mapping[str, str], *, mark: bool) -> None:
        super().__init__(start, body, ours, mark=mark)
        self._answers: dict[str, ChunkGatherer] = {}

    async def add(
        self, agent: str, event: AgentEvent, *, final: bool, headers: list[tuple[str, str]]
    ) -> None:
        """Gather one agent event (pings and non-JSON events carry nothing to gather)."""
        gatherer = self._answers.get(agent)
        if gatherer is None:
            gatherer = self._answers[agent] = ChunkGatherer(id=completion_id(), model=agent)
        if event.chunk is not None:
            gatherer.add(event.chunk)

    async def finish(self, headers: list[tuple[str, str]]) -> None:
        """Send the gathered answer (:meth:`payload`)."""
        payload = json.dumps(await self.payload(), ensure_ascii=False).encode("utf-8")
        own = {**self._ours, "content-type": "application/json"}
        raw = relay_headers(headers, own, event_stream=False)
        raw.append((b"content-length", str(len(payload)).encode()))
        await self._start(200, raw)
        self.started = True
        await self._body(payload, False)

    async def payload(self) -> dict[str, Any]:
        """The body sent to the client; subclasses for other client APIs translate here."""
        return self.completion()

    def error_event(self, error: PlanoError) -> bytes:
        """Unused: a JSON answer is sent whole, so errors always get a real status."""
        return encode_json(error.to_dict())

    def completion(self) -> dict[str, Any]:
        """The ``chat.completion`` of what was gathered (all agents' texts when marking)."""
        if not self._answers:
            return ChunkGatherer(id=completion_id(), model="").completion()
        last = list(self._answers.values())[-1].completion()
        if not self._mark:
            return last
        texts = [(agent, gatherer.text) for agent, gatherer in self._answers.items()]
        message = last["choices"][0]["message"]
        joined = SEPARATOR.join(text for _, text in texts if text)
        message["content"] = joined or message.get("content")
        usage = sum_usage([gatherer.usage for gatherer in self._answers.values()])
        if usage is not None:
            last["usage"] = usage
        last["answers"] = [{"agent": agent, "content": text} for agent, text in texts]
        return last


Answer = StreamAnswer | JsonAnswer


def _encode(event: AgentEvent) -> bytes:
    assert event.event is not None
    sse = event.event
    return encode_event(sse.data, event=sse.event, id=sse.id, retry=sse.retry)


def _has_text(chunk: Mapping[str, Any]) -> bool:
    for choice in chunk.get("choices") or ():
        if isinstance(choice, dict) and (choice.get("delta") or {}).get("content"):
            return True
    return False


def _marked(chunk: dict[str, Any], agent: str, *, final: bool) -> dict[str, Any]:
    out = {**chunk, "agent": agent}
    if not final:
        # An earlier agent's end is not the end of the answer.
        out["choices"] = [
            {**choice, "finish_reason": None} if isinstance(choice, dict) else choice
            for choice in chunk.get("choices") or ()
        ]
    return out
