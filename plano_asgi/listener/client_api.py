"""The client API a listener request speaks, and the chat turn every API is served as.

The listener runs every turn as an OpenAI chat turn (filters, routing, agents). A
:class:`ClientApi` is the edge of that turn for one client API: it reads the client's body
into a :class:`~plano_asgi.chat.ChatRequest`, gives the :class:`~plano_asgi.listener.answer`
object that speaks the client's shape (streamed or not), and renders errors in the shape
the client's SDK parses. :class:`ChatApi` is ``/v1/chat/completions``; the Responses API and
Anthropic Messages are in :mod:`~plano_asgi.listener.responses_api` and
:mod:`~plano_asgi.listener.messages_api`. One instance serves one request (it may keep the
client's original body to echo settings back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from plano_asgi.chat import ChatRequest, parse_chat_request
from plano_asgi.errors import PlanoError
from plano_asgi.listener.answer import Answer, Body, JsonAnswer, Start, StreamAnswer

__all__ = ["ChatApi", "ClientApi"]


class ClientApi(Protocol):
    """One client API on the listener (see the module docstring)."""

    async def parse(self, body: bytes) -> ChatRequest:
        """The chat request for the client's body; :class:`RequestError` (4xx) if invalid."""
        ...

    def answer(
        self, request: ChatRequest, start: Start, body: Body, ours: Mapping[str, str], *, mark: bool
    ) -> Answer:
        """The answer object that sends the client's shape."""
        ...

    def error_body(self, error: PlanoError) -> dict[str, Any]:
        """The error body for a response that has not started (sent with the error's status)."""
        ...


class ChatApi:
    """OpenAI Chat Completions: the listener's own shape, relayed as the agents sent it."""

    async def parse(self, body: bytes) -> ChatRequest:
        return parse_chat_request(body)

    def answer(
        self, request: ChatRequest, start: Start, body: Body, ours: Mapping[str, str], *, mark: bool
    ) -> Answer:
        kind = StreamAnswer if request.stream else JsonAnswer
        return kind(start, body, ours, mark=mark)

    def error_body(self, error: PlanoError) -> dict[str, Any]:
        return error.to_dict()
