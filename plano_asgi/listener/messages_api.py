"""``POST /v1/messages`` on the agent listener: Anthropic Messages clients, chat agents.

The body is checked as an Anthropic Messages request
(:func:`~plano_asgi.wire.messages_request.check_messages_request`, shared with the model
gateway: ``messages`` of ``user`` / ``assistant`` turns, ``max_tokens`` required),
translated with the model gateway's translation (:mod:`plano_asgi.wire.anthropic_inbound`)
and served as a chat turn like any other. The answer is an Anthropic ``message``, or its
event stream (:class:`~plano_asgi.wire.anthropic_stream.OpenAIToAnthropic`) when the client streams.
Several visible agents give one text whose parts are the agents' texts in order (a blank
line between), text deltas labelled with their ``agent``; the JSON answer lists them per
agent under ``"answers"``.

Errors come in Anthropic's shape, ``{"type": "error", "error": {"type", "message"}}``, with
a real status before the answer starts, and as an ``event: error`` that ends a stream
broken after it started.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plano_asgi.chat import ChatRequest, parse_chat_request
from plano_asgi.errors import PlanoError
from plano_asgi.json_body import parse_json_object
from plano_asgi.listener.answer import Answer, Body, JsonAnswer, Start, StreamAnswer
from plano_asgi.listener.reading import AgentEvent
from plano_asgi.wire.anthropic import anthropic_error
from plano_asgi.wire.anthropic_inbound import (
    anthropic_to_openai_request,
    openai_to_anthropic_response,
)
from plano_asgi.wire.anthropic_stream import OpenAIToAnthropic
from plano_asgi.wire.messages_request import check_messages_request
from plano_asgi.wire.streams import ClientEvent, encode_client_event, in_band_error

__all__ = ["MessagesApi", "check_messages_request"]


class MessagesApi:
    """Anthropic Messages for one request."""

    def __init__(self) -> None:
        self.model = ""

    async def parse(self, body: bytes) -> ChatRequest:
        data = parse_json_object(body)
        check_messages_request(data)
        self.model = str(data.get("model") or "")
        chat = anthropic_to_openai_request(data, self.model)
        if not self.model:
            chat.pop("model", None)
        return parse_chat_request(chat)

    def answer(
        self, request: ChatRequest, start: Start, body: Body, ours: Mapping[str, str], *, mark: bool
    ) -> Answer:
        kind = _MessagesStream if request.stream else _MessagesJson
        return kind(start, body, ours, mark=mark, model=self.model)

    def error_body(self, error: PlanoError) -> dict[str, Any]:
        return anthropic_error(error.status_code, error.to_dict())


def _encode(events: list[ClientEvent]) -> bytes:
    return b"".join(encode_client_event(event) for event in events)


class _MessagesStream(StreamAnswer):
    """Anthropic's event stream, translated chunk by chunk."""

    def __init__(
        self, start: Start, body: Body, ours: Mapping[str, str], *, mark: bool, model: str
    ) -> None:
        super().__init__(start, body, ours, mark=mark)
        self._events = OpenAIToAnthropic(model)

    async def _emit(self, chunk: dict[str, Any] | None, event: AgentEvent | None) -> None:
        if chunk is None:
            return  # an agent's non-JSON event has no Anthropic equivalent
        events = self._events.on_chunk(chunk)
        agent = chunk.get("agent") if self._mark else None
        if agent:
            for out in events:
                if out.name == "content_block_delta":
                    out.data["agent"] = agent
        if events:
            await self._body(_encode(events), True)

    async def _end(self) -> None:
        await self._body(_encode(self._events.finish()), True)

    def error_event(self, error: PlanoError) -> bytes:
        return in_band_error("anthropic", error.message)


class _MessagesJson(JsonAnswer):
    """One Anthropic ``message`` gathered from the agents' chunks."""

    def __init__(
        self, start: Start, body: Body, ours: Mapping[str, str], *, mark: bool, model: str
    ) -> None:
        super().__init__(start, body, ours, mark=mark)
        self._model = model

    async def payload(self) -> dict[str, Any]:
        completion = self.completion()
        message = openai_to_anthropic_response(completion, self._model)
        if "answers" in completion:
            message["answers"] = completion["answers"]
        return message
