"""``plano-asgi chat URL``: talk to an agent listener from the terminal.

Streams each answer as it arrives and shows which agent(s) handled the turn and how the
router decided (the listener's ``x-plano-agents`` / ``x-plano-router`` headers). Keeps the
conversation, so follow-ups ("and the weather there?") work. Reads one message per line, from
a terminal or a pipe; ``-m`` sends messages without a prompt. ``plano-asgi serve --chat``
runs the same conversation against the listener it serves.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx2

from plano_asgi.cli.terminal import Style, WordWrap, Writer, wants_color
from plano_asgi.outbound import outbound_sync_client
from plano_asgi.sse import SSEDecoder

__all__ = ["QUIT_WORDS", "ChatSession", "TurnResult", "converse", "read_lines", "register", "run"]

_CLEAR_LINE = "\r\x1b[K"

#: Typed at the interactive prompt, these end the conversation (as Ctrl-D and Ctrl-C do).
QUIT_WORDS = frozenset({"exit", "quit", "/exit", "/quit", "/bye"})


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
    color: bool = False
    """Terminal styling: a dim ``...`` until the answer starts, a coloured agents line."""

    def send(self, text: str, out: Writer, client: httpx2.Client) -> TurnResult:
        """Send a user turn, write the answer to ``out`` as it arrives, and keep the history."""
        self.messages.append({"role": "user", "content": text})
        body: dict[str, Any] = {"messages": self.messages, "stream": self.stream}
        if self.model:
            body["model"] = self.model
        endpoint = self.url.rstrip("/") + "/v1/chat/completions"
        # On a terminal, a dim ellipsis shows the question was sent until the answer starts.
        waiting = self.color
        if waiting:
            out.write(Style(True).dim("..."))
            out.flush()
        try:
            with client.stream("POST", endpoint, json=body, timeout=self.timeout) as response:
                if waiting:
                    out.write(_CLEAR_LINE)
                    waiting = False
                agents = response.headers.get("x-plano-agents")
                router = response.headers.get("x-plano-router")
                fallback = response.headers.get("x-plano-route-fallback")
                if agents:
                    how = f" via {router}" if router else ""
                    note = f", fallback: {fallback}" if fallback else ""
                    names = ", ".join(agents.split(",")) if self.color else agents
                    out.write(Style(self.color).label(f"[{names}{how}{note}]") + "\n")
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
        finally:
            if waiting:
                out.write(_CLEAR_LINE)
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
    """Chat with ``args.url``: the ``-m`` messages, else lines from the terminal or a pipe."""
    interactive = not args.message and sys.stdin.isatty()
    session = ChatSession(
        url=args.url,
        model=args.model,
        stream=not args.no_stream,
        timeout=args.timeout,
        color=interactive and wants_color(sys.stdout),
    )
    if interactive:
        print(f"Chatting with {args.url}. Ctrl-D, Ctrl-C or 'exit' to quit.")
    lines = args.message or read_lines(interactive)
    try:
        with outbound_sync_client(timeout=None) as client:
            return converse(session, client, lines, interactive=interactive)
    except KeyboardInterrupt:
        return 130


def converse(
    session: ChatSession,
    client: httpx2.Client,
    lines: Iterable[str],
    *,
    interactive: bool,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Send each line as a turn and stream the answers; return the exit status.

    Blank lines are skipped; ``exit`` or ``quit`` (see :data:`QUIT_WORDS`) ends the chat,
    typed or piped. Not interactive, each message is echoed as ``> message`` so the output
    reads as a transcript. Returns 0 when every turn was answered, 1 when one
    failed or the listener is unreachable. Ctrl-C propagates as ``KeyboardInterrupt``
    (after marking a cut-short answer ``[interrupted]``): the caller decides what it means.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    # On a terminal, long answers break between words rather than inside them.
    writer: Writer = WordWrap(out) if interactive and out.isatty() else out
    failures = 0
    for text in lines:
        if not text.strip():
            continue
        if not interactive:
            out.write(f"> {text}\n")
        if text.strip().lower() in QUIT_WORDS:  # typed or piped: "exit" ends the chat
            break
        try:
            result = session.send(text, writer, client)
        except httpx2.HTTPError as exc:
            err.write(f"error: cannot reach {session.url}: {exc.__class__.__name__}\n")
            return 1
        except KeyboardInterrupt:
            out.write("\n[interrupted]\n")
            out.flush()
            raise
        if result.error:
            failures += 1
            err.write(f"error ({result.status}): {result.error}\n")
            err.flush()
        if interactive:
            out.write("\n")
    return 1 if failures else 0


def read_lines(interactive: bool, prompt: str = "you> ") -> Iterator[str]:
    """The user's messages: prompted lines from a terminal (with line editing where the
    platform has it), else lines from stdin. Ends at EOF; Ctrl-C raises
    ``KeyboardInterrupt`` (after moving a terminal to a fresh line)."""
    if interactive:
        try:
            import readline  # noqa: F401  (importing it gives input() editing and history)
        except ImportError:  # pragma: no cover - Windows
            pass
    while True:
        try:
            line = input(prompt) if interactive else sys.stdin.readline()
        except EOFError:
            if interactive:
                print()  # leave the shell prompt on a fresh line
            return
        except KeyboardInterrupt:
            if interactive:
                print()
            raise
        if not interactive and line == "":
            return
        yield line.rstrip("\n")
