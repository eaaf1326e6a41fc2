"""``plano-asgi chat URL``: talk to an agent listener from the terminal.

Streams each answer as it arrives and shows which agent(s) handled the turn and how the
router decided (the listener's ``x-plano-agents`` / ``x-plano-router`` headers). Keeps the
conversation, so follow-ups ("and the weather there?") work. Reads one message per line, from
a terminal or a pipe; ``-m`` sends messages without a prompt.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

from plano_asgi.sse import SSEDecoder

__all__ = ["ChatSession", "TurnResult", "register", "run"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url",
        nargs="?",
        default="http://127.0.0.1:8001",
        help="the agent listener (default http://127.0.0.1:8001)",
    )
    parser.add_argument(
        "-m",
        "--message",
        action="append",
        default=[],
        help="send this message (repeat for a conversation) instead of reading input",
    )
    parser.add_argument("--model", default=None, help="the 'model' field to send (optional)")
    parser.add_argument("--no-stream", action="store_true", help="ask for one JSON answer")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per turn")


@dataclass
class TurnResult:
    """What one turn produced."""

    text: str
    agents: str | None
    router: str | None
    fallback: str | None
    status: int
    error: str | None = None


@dataclass
class ChatSession:
    """A conversation with one listener; ``send`` streams the reply into ``out``."""

    url: str
    model: str | None = None
    stream: bool = True
    timeout: float = 120.0
    messages: list[dict[str, Any]] = field(default_factory=list)

    def send(self, text: str, out: TextIO, client: httpx.Client) -> TurnResult:
        """Send a user turn, write the answer to ``out`` as it arrives, and keep the history."""
        self.messages.append({"role": "user", "content": text})
        body: dict[str, Any] = {"messages": self.messages, "stream": self.stream}
        if self.model:
            body["model"] = self.model
        endpoint = self.url.rstrip("/") + "/v1/chat/completions"
        with client.stream("POST", endpoint, json=body, timeout=self.timeout) as response:
            agents = response.headers.get("x-plano-agents")
            router = response.headers.get("x-plano-router")
            fallback = response.headers.get("x-plano-route-fallback")
            if agents:
                how = f" via {router}" if router else ""
                note = f", fallback: {fallback}" if fallback else ""
                out.write(f"[{agents}{how}{note}]\n")
                out.flush()
            error: str | None = None
            if response.status_code >= 400:
                response.read()
                self.messages.pop()
                return TurnResult(
                    "",
                    agents,
                    router,
                    fallback,
                    response.status_code,
                    _error_message(response.content),
                )
            if "text/event-stream" in response.headers.get("content-type", ""):
                parts: list[str] = []
                for piece, failure in _stream_text(response.iter_raw()):
                    if failure is not None:
                        error = failure
                        break
                    parts.append(piece)
                    out.write(piece)
                    out.flush()
                text = "".join(parts)
            else:
                response.read()
                text = _completion_text(response.content)
                out.write(text)
            out.write("\n")
            out.flush()
        self.messages.append({"role": "assistant", "content": text})
        return TurnResult(text, agents, router, fallback, response.status_code, error)


def _stream_text(chunks: Iterator[bytes]) -> Iterator[tuple[str, str | None]]:
    decoder = SSEDecoder()
    done = False
    for chunk in chunks:
        for event in decoder.feed(chunk):
            if event.is_done:
                done = True
                continue
            try:
                data = event.json()
            except ValueError:
                continue
            if isinstance(data, dict) and "error" in data:
                yield "", _error_message(json.dumps(data).encode())
                return
            for choice in data.get("choices", []) if isinstance(data, dict) else []:
                content = (choice.get("delta") or {}).get("content")
                if content:
                    yield content, None
    if not done:
        yield "", "the stream ended before the answer was complete"


def _completion_text(raw: bytes) -> str:
    try:
        data = json.loads(raw)
        return str(data["choices"][0]["message"]["content"] or "")
    except (ValueError, KeyError, IndexError, TypeError):
        return raw.decode("utf-8", "replace")


def _error_message(raw: bytes) -> str:
    try:
        data = json.loads(raw)
        error = data.get("error")
        if isinstance(error, dict):
            return str(error.get("message", error))
        if error is not None:
            return str(error)
    except (ValueError, AttributeError):
        pass
    return raw.decode("utf-8", "replace")[:500]


def run(args: argparse.Namespace) -> int:
    session = ChatSession(
        url=args.url, model=args.model, stream=not args.no_stream, timeout=args.timeout
    )
    interactive = not args.message and sys.stdin.isatty()
    if interactive:
        print(f"Chatting with {args.url}. Empty line or Ctrl-D to quit.")
    failures = 0
    with httpx.Client() as client:
        for text in args.message or _read_lines(interactive):
            if not text.strip():
                if interactive:
                    break
                continue
            if not interactive:
                print(f"> {text}")
            try:
                result = session.send(text, sys.stdout, client)
            except httpx.HTTPError as exc:
                print(f"error: cannot reach {args.url}: {exc.__class__.__name__}", file=sys.stderr)
                return 1
            if result.error:
                failures += 1
                print(f"error ({result.status}): {result.error}", file=sys.stderr)
    return 1 if failures else 0


def _read_lines(interactive: bool) -> Iterator[str]:
    while True:
        try:
            line = input("you> ") if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            return
        if not interactive and line == "":
            return
        yield line.rstrip("\n")
