"""``POST /v1/responses`` on the agent listener: OpenAI Responses clients, chat agents.

The request is checked and translated by :mod:`plano_asgi.responses` (the translation the
model gateway uses too) and served like any chat turn: the same filters, routing, agents,
timeouts and hop headers. The answer goes back as a ``response`` object, or as the
Responses event stream (:class:`~plano_asgi.responses.events.ResponseEvents`) when the
client streams. Several visible agents (``answers: all``) give one message whose text is
every agent's text in order (a blank line between), each text delta labelled with its
``agent``; the JSON answer lists them per agent under ``"answers"``, as chat does.

Errors: the OpenAI envelope with a real status before the answer starts; a stream that
breaks after ends with ``response.failed`` carrying the error (so ``responses.stream()``
raises instead of returning a cut answer as complete).

Conversation state: :meth:`ResponsesApi.expand_input` is the one place where the client's
``input`` is widened with the stored turns of its ``previous_response_id`` before the
translation (:func:`plano_asgi.state.expand_input`), and an answered turn is recorded
(:func:`plano_asgi.state.record`) unless the request says ``store: false``. Without a store
(no ``state_storage``) a ``previous_response_id`` is a 400, never silently ignored (Plano
ignores it on the agent listener).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from plano_asgi.chat import ChatRequest, parse_chat_request
from plano_asgi.errors import PlanoError, RequestError
from plano_asgi.json_body import parse_json_object
from plano_asgi.listener.answer import Answer, Body, JsonAnswer, Start, StreamAnswer
from plano_asgi.listener.reading import AgentEvent
from plano_asgi.responses.events import ResponseEvents
from plano_asgi.responses.output import output_items, response_object, response_usage
from plano_asgi.responses.request import ResponsesRequest, chat_request, parse_responses_request
from plano_asgi.state import ConversationStore, expand_input, new_response_id, record

__all__ = ["ResponsesApi"]

Item = dict[str, Any]


class ResponsesApi:
    """The Responses API for one request (keeps the request and its whole conversation)."""

    def __init__(self, store: ConversationStore | None = None) -> None:
        self.store = store
        self.id = new_response_id()
        self.created_at = time.time()
        self.request = ResponsesRequest(body={}, model=None, input=[])
        self.conversation: list[Item] = []
        """The earlier turns (from the store) and this request's input, as items."""

    @property
    def stored(self) -> bool:
        """Whether this turn is kept (a store is configured and the client did not opt out)."""
        return self.store is not None and self.request.store

    async def parse(self, body: bytes) -> ChatRequest:
        self.request = parse_responses_request(parse_json_object(body))
        self.conversation = await self.expand_input(self.request)
        return parse_chat_request(chat_request(self.request, self.conversation))

    async def expand_input(self, request: ResponsesRequest) -> list[Item]:
        """The conversation the agents answer: stored turns first, then ``input``."""
        previous = request.previous_response_id
        if previous is not None and self.store is None:
            raise RequestError(
                f"Previous response with id '{previous}' not found: this listener keeps no "
                "conversation state (configure state_storage).",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        return await expand_input(self.store, previous, request.input)

    async def keep(self, output: list[Item], model: str) -> None:
        """Record the answered turn (a no-op when it is not stored)."""
        if not self.stored:
            return
        await record(
            self.store,
            self.id,
            input_items=self.conversation,
            output_items=output,
            model=model,
            previous_response_id=self.request.previous_response_id,
            created_at=self.created_at,
        )

    def answer(
        self, request: ChatRequest, start: Start, body: Body, ours: Mapping[str, str], *, mark: bool
    ) -> Answer:
        if request.stream:
            return _ResponsesStream(start, body, ours, mark=mark, api=self)
        return _ResponsesJson(start, body, ours, mark=mark, api=self)

    def error_body(self, error: PlanoError) -> dict[str, Any]:
        return error.to_dict()


class _ResponsesStream(StreamAnswer):
    """The Responses event stream, translated chunk by chunk."""

    def __init__(
        self, start: Start, body: Body, ours: Mapping[str, str], *, mark: bool, api: ResponsesApi
    ) -> None:
        super().__init__(start, body, ours, mark=mark)
        self._api = api
        self._events = ResponseEvents(
            api.request, response_id=api.id, created_at=api.created_at, stored=api.stored
        )
        self._opened = False

    def _head(self) -> bytes:
        if self._opened:
            return b""
        self._opened = True
        return self._events.start()

    async def _emit(self, chunk: dict[str, Any] | None, event: AgentEvent | None) -> None:
        if chunk is None:
            return  # an agent's non-JSON event has no Responses equivalent
        agent = chunk.get("agent") if self._mark else None
        out = self._head() + self._events.on_chunk(chunk, agent=str(agent) if agent else None)
        if out:
            await self._body(out, True)

    async def _end(self) -> None:
        head = self._head()
        # Kept before the client hears of it, so a follow-up turn can refer to it at once.
        await self._api.keep(self._events.output(), self._events.model)
        await self._body(head + self._events.completed(), True)

    def error_event(self, error: PlanoError) -> bytes:
        return self._head() + self._events.failed(error.message)


class _ResponsesJson(JsonAnswer):
    """One ``response`` object gathered from the agents' chunks."""

    def __init__(
        self, start: Start, body: Body, ours: Mapping[str, str], *, mark: bool, api: ResponsesApi
    ) -> None:
        super().__init__(start, body, ours, mark=mark)
        self._api = api

    async def payload(self) -> dict[str, Any]:
        api = self._api
        completion = self.completion()
        output = output_items(completion)
        model = str(completion.get("model") or api.request.model or "")
        await api.keep(output, model)
        choices = completion.get("choices") or [{}]
        response = response_object(
            api.request,
            response_id=api.id,
            model=model,
            output=output,
            usage=response_usage(completion.get("usage")),
            stored=api.stored,
            created_at=api.created_at,
            finish_reason=choices[0].get("finish_reason"),
        )
        if "answers" in completion:
            response["answers"] = completion["answers"]
        return response
