"""Agents that speak the OpenAI Responses API or Anthropic Messages, not chat completions.

Small Starlette apps served by real uvicorn. Their events are written out by hand here, as
the two APIs document them, so the listener's translation is checked against the wire and
not against itself. Each records the path and body it received.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

End = Literal["clean", "cut", "fail"]


def _sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _last_user_text(body: dict[str, Any], key: str) -> str:
    items = body[key]
    if isinstance(items, str):
        return items
    for item in reversed(items):
        if item.get("role") == "user":
            content = item["content"]
            if isinstance(content, str):
                return content
            return "".join(part.get("text", "") for part in content)
    return ""


@dataclass
class ResponsesAgent:
    """Answers ``POST /v1/responses`` with ``"<name>: <question>"`` in two deltas."""

    name: str = "responder"
    end: End = "clean"
    seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/responses", self.respond, methods=["POST"])])

    def _response(self, status: str, text: str) -> dict[str, Any]:
        return {
            "id": "resp_agent",
            "object": "response",
            "created_at": 1,
            "status": status,
            "model": "agent-model",
            "output": [
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            ]
            if text
            else [],
            "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
        }

    async def respond(self, request: Request) -> Response:
        body = await request.json()
        self.seen.append((request.url.path, body))
        pieces = [f"{self.name}: ", _last_user_text(body, "input")]
        if not body.get("stream"):
            return JSONResponse(self._response("completed", "".join(pieces)))
        return StreamingResponse(self._events(pieces), media_type="text/event-stream")

    async def _events(self, pieces: list[str]) -> AsyncIterator[bytes]:
        seq = iter(range(1000))
        start = {**self._response("in_progress", ""), "output": []}
        yield _sse("response.created", {"type": "response.created", "response": start})
        item = {"id": "msg_1", "type": "message", "role": "assistant", "content": []}
        yield _sse(
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 0, "item": item},
        )
        for piece in pieces:
            delta = {
                "type": "response.output_text.delta",
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": piece,
                "sequence_number": next(seq),
            }
            yield _sse("response.output_text.delta", delta)
        if self.end == "cut":
            return
        if self.end == "fail":
            failed = {
                **self._response("failed", ""),
                "error": {"code": "server_error", "message": "the model fell over"},
            }
            yield _sse("response.failed", {"type": "response.failed", "response": failed})
            return
        done = self._response("completed", "".join(pieces))
        yield _sse("response.completed", {"type": "response.completed", "response": done})


@dataclass
class MessagesAgent:
    """Answers ``POST /v1/messages`` with ``"<name>: <question>"`` in two text deltas."""

    name: str = "claudish"
    end: End = "clean"
    seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/messages", self.respond, methods=["POST"])])

    async def respond(self, request: Request) -> Response:
        body = await request.json()
        self.seen.append((request.url.path, body))
        pieces = [f"{self.name}: ", _last_user_text(body, "messages")]
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "msg_agent",
                    "type": "message",
                    "role": "assistant",
                    "model": "agent-model",
                    "content": [{"type": "text", "text": "".join(pieces)}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 3, "output_tokens": 4},
                }
            )
        return StreamingResponse(self._events(pieces), media_type="text/event-stream")

    async def _events(self, pieces: list[str]) -> AsyncIterator[bytes]:
        message: dict[str, Any] = {
            "id": "msg_agent",
            "type": "message",
            "role": "assistant",
            "model": "agent-model",
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 3, "output_tokens": 0},
        }
        yield _sse("message_start", {"type": "message_start", "message": message})
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}
        yield _sse("content_block_start", block)
        yield _sse("ping", {"type": "ping"})
        for piece in pieces:
            delta = {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece},
            }
            yield _sse("content_block_delta", delta)
        if self.end == "cut":
            return
        if self.end == "fail":
            error = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
            yield _sse("error", error)
            return
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        end = {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 4},
        }
        yield _sse("message_delta", end)
        yield _sse("message_stop", {"type": "message_stop"})


TOOL_ARGUMENTS = '{"city": "Rome"}'


@dataclass
class ToolCallingAgent:
    """Asks for ``get_weather(city=Rome)`` in the API ``api`` (JSON or streamed)."""

    api: Literal["responses", "messages"]

    def app(self) -> Starlette:
        return Starlette(routes=[Route(f"/v1/{self.api}", self.respond, methods=["POST"])])

    async def respond(self, request: Request) -> Response:
        body = await request.json()
        if not body.get("stream"):
            return JSONResponse(self._whole())
        events = self._responses_events() if self.api == "responses" else self._messages_events()
        return StreamingResponse(events, media_type="text/event-stream")

    def _whole(self) -> dict[str, Any]:
        if self.api == "responses":
            call = {
                "id": "fc_1",
                "type": "function_call",
                "call_id": "call_9",
                "name": "get_weather",
                "arguments": TOOL_ARGUMENTS,
                "status": "completed",
            }
            return {"id": "resp_t", "object": "response", "status": "completed", "output": [call]}
        use = {"type": "tool_use", "id": "call_9", "name": "get_weather", "input": {"city": "Rome"}}
        return {
            "id": "msg_t",
            "type": "message",
            "role": "assistant",
            "content": [use],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }

    async def _responses_events(self) -> AsyncIterator[bytes]:
        item = {"id": "fc_1", "type": "function_call", "call_id": "call_9", "name": "get_weather"}
        yield _sse("response.created", {"type": "response.created", "response": {"id": "resp_t"}})
        added = {"type": "response.output_item.added", "output_index": 0, "item": item}
        yield _sse("response.output_item.added", added)
        for part in ('{"city": ', '"Rome"}'):
            delta = {"type": "response.function_call_arguments.delta", "output_index": 0}
            yield _sse("response.function_call_arguments.delta", {**delta, "delta": part})
        yield _sse("response.completed", {"type": "response.completed", "response": self._whole()})

    async def _messages_events(self) -> AsyncIterator[bytes]:
        message = {"id": "msg_t", "type": "message", "role": "assistant", "content": []}
        yield _sse("message_start", {"type": "message_start", "message": message})
        block = {"type": "tool_use", "id": "call_9", "name": "get_weather", "input": {}}
        start = {"type": "content_block_start", "index": 0, "content_block": block}
        yield _sse("content_block_start", start)
        for part in ('{"city": ', '"Rome"}'):
            delta = {"type": "input_json_delta", "partial_json": part}
            yield _sse(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            )
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        end = {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 2},
        }
        yield _sse("message_delta", end)
        yield _sse("message_stop", {"type": "message_stop"})
