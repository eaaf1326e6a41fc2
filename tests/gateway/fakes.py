"""Fake LLM providers: real HTTP/1.1 servers on 127.0.0.1, scriptable per test.

Written on raw asyncio streams (not a framework) so a test can script what real providers
do when they misbehave: reset the connection, never answer, stall mid-stream, cut a
chunked body, send garbage. Each request pops the next :class:`Reply` from the script
(or a callable building one); an empty script answers a normal completion in the
provider's wire format (OpenAI or Anthropic) that names the provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Step = bytes | float  # bytes to write as one chunk, or seconds to pause


@dataclass
class Recorded:
    """A request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    """When the request arrived (``time.monotonic``)."""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    stream: list[Step] | None = None
    """Chunked body pieces; a float pauses. The body is terminated unless ``cut``."""
    action: Literal["respond", "reset", "hang"] = "respond"
    delay: float = 0.0
    """Seconds before the status line is written."""
    cut: bool = False
    """End a streamed body by closing the socket without the final chunk."""
    close: bool = False
    """Close the connection after a complete answer, without saying so (a keep-alive race)."""


Script = Reply | Callable[[Recorded], Reply]


class FakeProvider:
    """A provider on 127.0.0.1: ``url`` is its origin, ``requests`` what it received."""

    def __init__(self, name: str, api: Literal["openai", "anthropic"] = "openai") -> None:
        self.name = name
        self.api = api
        self.requests: list[Recorded] = []
        self.script: deque[Script] = deque()
        self.client_gone = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def then(self, *replies: Script) -> FakeProvider:
        self.script.extend(replies)
        return self

    async def __aenter__(self) -> FakeProvider:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        # Drop open connections first: from Python 3.12 wait_closed() waits for them.
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    # -- wire ---------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                script = self.script.popleft() if self.script else self.default_reply
                reply = script(request) if callable(script) else script
                keep = await self._respond(reply, reader, writer)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            self.client_gone.set()
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _respond(
        self, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if reply.delay:
            if await _wait_or_eof(reader, reply.delay):
                self.client_gone.set()
                return False
        if reply.action == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if reply.action == "hang":
            await reader.read()  # until the client closes
            self.client_gone.set()
            return False
        head = [f"HTTP/1.1 {reply.status} X"]
        headers = {k.lower(): v for k, v in reply.headers.items()}
        if reply.stream is None:
            body = reply.body or b""
            headers.setdefault("content-type", "application/json")
            headers["content-length"] = str(len(body))
        else:
            headers.setdefault("content-type", "text/event-stream")
            headers["transfer-encoding"] = "chunked"
        head += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        if reply.stream is None:
            writer.write(reply.body or b"")
            await writer.drain()
            return not reply.close
        await writer.drain()
        for step in reply.stream:
            if isinstance(step, float | int):
                if await _wait_or_eof(reader, float(step)):
                    self.client_gone.set()
                    return False
                continue
            writer.write(f"{len(step):x}\r\n".encode() + step + b"\r\n")
            await writer.drain()
        if reply.cut:
            writer.transport.abort()
            return False
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return not reply.close

    # -- default answers ------------------------------------------------------------------

    def default_reply(self, request: Recorded) -> Reply:
        body = request.json()
        text = f"hello from {self.name}"
        if self.api == "anthropic":
            if body.get("stream"):
                return Reply(stream=anthropic_stream([text]))
            return Reply(body=anthropic_message(text))
        if body.get("stream"):
            return Reply(stream=openai_stream([text]))
        return Reply(body=openai_completion(text))


async def _wait_or_eof(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Pause ``seconds``; True if the client closed the connection meanwhile."""
    try:
        data = await asyncio.wait_for(reader.read(1), timeout=seconds)
    except TimeoutError:
        return False
    return data == b""


async def _read_request(reader: asyncio.StreamReader) -> Recorded | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Recorded(method, path, headers, body)


# -- wire-format builders --------------------------------------------------------------


def openai_completion(
    text: str | None,
    *,
    model: str = "fake-model",
    tool_calls: list[dict[str, Any]] | None = None,
    finish: str = "stop",
) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return json.dumps(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }
    ).encode()


def openai_chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    chunk = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def openai_stream(pieces: list[str], *, done: bool = True, gap: float = 0.0) -> list[Step]:
    steps: list[Step] = [openai_chunk({"role": "assistant", "content": ""})]
    for piece in pieces:
        if gap:
            steps.append(gap)
        steps.append(openai_chunk({"content": piece}))
    steps.append(openai_chunk({}, "stop"))
    if done:
        steps.append(b"data: [DONE]\n\n")
    return steps


def anthropic_message(
    text: str | None, *, tool_use: dict[str, Any] | None = None, stop: str = "end_turn"
) -> bytes:
    content: list[dict[str, Any]] = []
    if text:
        content.append({"type": "text", "text": text})
    if tool_use:
        content.append({"type": "tool_use", **tool_use})
    return json.dumps(
        {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": "claude-fake",
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 11, "output_tokens": 5},
        }
    ).encode()


def anthropic_event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()


def anthropic_stream(pieces: list[str], *, stop: bool = True) -> list[Step]:
    message: dict[str, Any] = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": "claude-fake",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 0},
    }
    steps: list[Step] = [
        anthropic_event("message_start", {"message": message}),
        anthropic_event(
            "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
        ),
    ]
    for piece in pieces:
        steps.append(
            anthropic_event(
                "content_block_delta",
                {"index": 0, "delta": {"type": "text_delta", "text": piece}},
            )
        )
    steps.append(anthropic_event("content_block_stop", {"index": 0}))
    steps.append(
        anthropic_event(
            "message_delta",
            {
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        )
    )
    if stop:
        steps.append(anthropic_event("message_stop", {}))
    return steps


def error_reply(
    status: int, message: str, *, code: str | None = None, headers: dict[str, str] | None = None
) -> Reply:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    return Reply(status=status, body=json.dumps(body).encode(), headers=headers or {})


@contextlib.asynccontextmanager
async def providers(*fakes: FakeProvider) -> AsyncIterator[tuple[FakeProvider, ...]]:
    async with contextlib.AsyncExitStack() as stack:
        for fake in fakes:
            await stack.enter_async_context(fake)
        yield fakes
