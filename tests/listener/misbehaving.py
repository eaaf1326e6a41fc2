"""Agents that misbehave the way real services do, on real sockets.

:class:`Scripted` is an ASGI agent (served by uvicorn) that sends exactly the bytes a test
gives it and then ends the way the test says: cleanly, by dying (uvicorn closes the socket
mid-body), or by pinging forever. :func:`raw_http` is a bare TCP server for what uvicorn will
not do: a close-delimited body (no content-length, no chunking) cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.types import Receive, Scope, Send

from tests.listener.agents import Seen, _headers, _read


def chunk(
    content: str | None = None,
    *,
    finish: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    usage: dict[str, int] | None = None,
    role: str | None = None,
) -> bytes:
    """One ``data:`` event carrying a ``chat.completion.chunk``."""
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    data: dict[str, Any] = {
        "id": "chatcmpl-agent",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "agent-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if not usage else [],
    }
    if usage is not None:
        data["usage"] = usage
    return f"data: {json.dumps(data)}\n\n".encode()


DONE = b"data: [DONE]\n\n"
PING = b": ping\n\n"


@dataclass
class Scripted:
    """An agent that sends ``parts`` then ends as ``end`` says.

    * ``end="clean"``: the body ends normally after the parts;
    * ``end="die"``: the app raises, so uvicorn closes the connection mid-body;
    * ``end="ping"``: it sends ``: ping`` every ``every`` seconds until the listener leaves;
    * ``end="data"``: it sends a data event every ``every`` seconds until the listener leaves.

    ``content_length`` declares a length (for a JSON body cut short of it).
    """

    parts: list[bytes]
    end: Literal["clean", "die", "ping", "data"] = "clean"
    content_type: str = "text/event-stream"
    status: int = 200
    content_length: int | None = None
    every: float = 0.05
    seen: list[Seen] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await _read(receive))
        self.seen.append(Seen(body, _headers(scope)))
        headers = [(b"content-type", self.content_type.encode())]
        if self.content_length is not None:
            headers.append((b"content-length", str(self.content_length).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        for part in self.parts:
            await send({"type": "http.response.body", "body": part, "more_body": True})
        if self.end == "die":
            raise RuntimeError("agent died mid-body")
        while self.end in ("ping", "data"):
            await asyncio.sleep(self.every)
            piece = PING if self.end == "ping" else chunk(".")
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


@contextlib.asynccontextmanager
async def raw_http(response_head: bytes, body: bytes) -> AsyncIterator[str]:
    """A TCP server on 127.0.0.1 that answers every request with ``head + body``, then closes.

    With no content-length and no chunked encoding the body is delimited by the close, so
    a client cannot tell a cut body from a whole one by framing alone.
    """

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        await reader.readexactly(length)
        writer.write(response_head + b"\r\n" + body)
        await writer.drain()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def close_delimited(content_type: str) -> bytes:
    """Response head without framing headers: the body ends when the connection closes."""
    return f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\nconnection: close\r\n".encode()
