"""Driving an ASGI app in-process, and the properties every fuzzed answer must have.

:func:`call` is one request as a server would make it: the body in one message, then
``http.disconnect`` only once the response is complete (so the apps' disconnect watchers
see what a finished request looks like). :func:`check_answer` holds the suite's
assertions: never a 5xx, the path's own error envelope on every 4xx, and nothing in the
body that looks like Python (a traceback, an exception class name).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.types import ASGIApp, Message

from plano_asgi._asgi import post_scope

__all__ = ["Answer", "call", "check_answer", "looks_like_python"]

_PYTHON = re.compile(r'Traceback|File "|\b[A-Z][A-Za-z]*(?:Error|Exception)\b|<class ')


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


async def call(
    app: ASGIApp,
    path: str,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    method: str = "POST",
) -> Answer:
    """``method path`` with ``body`` through ``app``; the whole answer (bounded to 10 s)."""
    raw = [(b"content-type", b"application/json"), *(headers or [])]
    raw.append((b"content-length", str(len(body)).encode()))
    scope = {**post_scope(path, raw), "method": method}
    done = anyio.Event()
    sent_body = False
    messages: list[Message] = []

    async def receive() -> Message:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    with anyio.fail_after(10):
        await app(scope, receive, send)
    start = messages[0]
    assert start["type"] == "http.response.start", messages
    return Answer(
        status=int(start["status"]),
        headers={
            bytes(k).decode("latin-1"): bytes(v).decode("latin-1") for k, v in start["headers"]
        },
        body=b"".join(m.get("body", b"") for m in messages[1:]),
    )


def looks_like_python(text: str) -> bool:
    """Whether ``text`` shows a traceback or an exception class name."""
    return _PYTHON.search(text) is not None


def check_answer(path: str, answer: Answer, *, malformed: bool) -> None:
    """The properties of every answer (see the module docstring); ``malformed``: the
    request is known to be invalid, so it must be a 4xx."""
    text = answer.body.decode("utf-8", "replace")
    assert answer.status < 500, (path, answer.status, text)
    if malformed:
        assert 400 <= answer.status < 500, (path, answer.status, text)
    assert not looks_like_python(text), (path, text)
    if answer.status < 400:
        return
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    data: Any = json.loads(answer.body)
    assert isinstance(data, dict), text
    if path.endswith("/messages"):  # Anthropic's shape
        assert data.get("type") == "error", text
    error = data.get("error")
    assert isinstance(error, dict), text
    for name in ("message", "type"):
        assert isinstance(error.get(name), str), text
        assert error[name], text
