"""Fake agents and a fake orchestrator model, as plain ASGI apps served by real uvicorn.

Each fake records what it received (body, headers), when it produced each chunk, and
whether it saw the client leave, so tests assert on the agent's side of the wire.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.types import Receive, Scope, Send


@dataclass
class Seen:
    """One request as an agent received it."""

    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body["messages"])


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope["headers"]:
        name = key.decode("latin-1")
        out[name] = (
            f"{out[name]}, {value.decode('latin-1')}" if name in out else value.decode("latin-1")
        )
    return out


def _chunk(text: str, *, model: str = "fake") -> bytes:
    data = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return f"data: {json.dumps(data)}\n\n".encode()


def completion(text: str, *, model: str = "fake") -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def last_user(body: dict[str, Any]) -> str:
    for message in reversed(body["messages"]):
        if message["role"] == "user":
            return str(message["content"])
    return ""


@dataclass
class FakeAgent:
    """An OpenAI-compatible agent. Streams ``pieces`` as SSE when asked to stream.

    * ``status``: answer this status with an error body instead (erroring agent);
    * ``hold_headers``: wait for this event before answering at all (slow agent);
    * ``gate``: after the first chunk, wait for this event before producing the rest;
    * ``die_after``: raise after this many chunks (the connection is cut mid-stream);
    * ``json_when_streaming``: answer one JSON completion even when asked to stream.
    """

    name: str
    pieces: Callable[[dict[str, Any]], list[str]] | None = None
    status: int = 200
    hold_headers: asyncio.Event | None = None
    gate: asyncio.Event | None = None
    die_after: int | None = None
    json_when_streaming: bool = False
    seen: list[Seen] = field(default_factory=list)
    chunk_times: list[float] = field(default_factory=list)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    completed: int = 0

    def text_pieces(self, body: dict[str, Any]) -> list[str]:
        if self.pieces is not None:
            return self.pieces(body)
        return [f"{self.name}", " says: ", last_user(body)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await _read(receive))
        self.seen.append(Seen(body, _headers(scope)))
        try:
            async with anyio.create_task_group() as group:

                async def watch() -> None:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        self.disconnected.set()
                        group.cancel_scope.cancel()

                group.start_soon(watch)
                await self._answer(body, send)
                self.completed += 1
                group.cancel_scope.cancel()
        except anyio.get_cancelled_exc_class():
            # An in-process agent is cancelled by the listener directly.
            self.cancelled.set()
            raise

    async def _answer(self, body: dict[str, Any], send: Send) -> None:
        if self.hold_headers is not None:
            await self.hold_headers.wait()
        if self.status != 200:
            payload = json.dumps(
                {"error": {"message": f"{self.name} refused", "type": "agent_error"}}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": payload})
            return
        pieces = self.text_pieces(body)
        if not body.get("stream") or self.json_when_streaming:
            payload = json.dumps(completion("".join(pieces))).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": payload})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"x-agent", b"yes")],
            }
        )
        for index, piece in enumerate(pieces):
            if index == 1 and self.gate is not None:
                await self.gate.wait()
            if self.die_after is not None and index == self.die_after:
                raise RuntimeError(f"{self.name} died mid-stream")
            self.chunk_times.append(time.monotonic())
            await send({"type": "http.response.body", "body": _chunk(piece), "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


@dataclass
class FakeOrchestrator:
    """An OpenAI-compatible router model answering ``answer`` (or ``answer(prompt)``)."""

    answer: str | Callable[[str], str] = '{"route": []}'
    status: int = 200
    raw_body: bytes | None = None
    hold: asyncio.Event | None = None
    seen: list[Seen] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await _read(receive))
        self.seen.append(Seen(body, _headers(scope)))
        if self.hold is not None:
            await self.hold.wait()
        if self.raw_body is not None:
            payload = self.raw_body
        else:
            prompt = body["messages"][0]["content"]
            text = self.answer(prompt) if callable(self.answer) else self.answer
            payload = json.dumps(completion(text)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def route_by_keyword(table: dict[str, str]) -> Callable[[str], str]:
    """An orchestrator answer: route to every agent whose keyword is in the latest user turn."""

    def answer(prompt: str) -> str:
        conversation = prompt.split("<conversation>\n", 1)[1].split("\n</conversation>", 1)[0]
        turns = json.loads(conversation)
        latest = next(t["content"] for t in reversed(turns) if t["role"] == "user").lower()
        chosen = [agent for keyword, agent in table.items() if keyword in latest]
        return json.dumps({"route": chosen})

    return answer


in_process_echo = FakeAgent("echo")
"""An agent for ``agents[].app: "tests.listener.agents:in_process_echo"``."""
