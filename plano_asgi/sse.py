"""Server-sent events: encoding, incremental decoding, and the OpenAI stream conventions.

Defined once here and shared by the listener, the gateway and the agent SDK.

The decoder follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; a blank
line dispatches the event; ``data`` lines are joined with ``\\n``; lines starting with
``:`` are comments; a single leading space after the colon is dropped. It is fed raw
network chunks and yields whole events, so a line split across chunks is handled. Lines
are split on the bytes (``bytes.splitlines`` knows exactly CRLF, LF and CR) and each whole
line is decoded once: a multi-byte UTF-8 character never contains CR or LF, so no line
break can fall inside one.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DONE",
    "SSE_HEADERS",
    "SSEDecoder",
    "ServerSentEvent",
    "aiter_events",
    "encode_data",
    "encode_event",
    "encode_json",
]

#: The data payload OpenAI-style streams end with.
DONE = "[DONE]"

#: Response headers for an event stream that no proxy should buffer or compress.
SSE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event."""

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    @property
    def is_done(self) -> bool:
        """True for the ``data: [DONE]`` terminator."""
        return self.data.strip() == DONE

    def json(self) -> Any:
        """Parse ``data`` as JSON (raises ``ValueError`` when it is not)."""
        return json.loads(self.data)


def encode_event(
    data: str, *, event: str | None = None, id: str | None = None, retry: int | None = None
) -> bytes:
    """Encode one event. Multi-line data becomes several ``data:`` lines."""
    parts: list[str] = []
    if id is not None:
        parts.append(f"id: {_one_line(id)}\n")
    if event is not None:
        parts.append(f"event: {_one_line(event)}\n")
    if retry is not None:
        parts.append(f"retry: {int(retry)}\n")
    for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        parts.append(f"data: {line}\n")
    parts.append("\n")
    return "".join(parts).encode("utf-8")


def encode_data(data: str) -> bytes:
    """Encode a data-only event; the fast path for chat chunks."""
    if "\n" in data or "\r" in data:
        return encode_event(data)
    return b"data: " + data.encode("utf-8") + b"\n\n"


def encode_json(obj: Any, *, event: str | None = None) -> bytes:
    """Encode an object as compact JSON in one event."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return encode_event(text, event=event) if event is not None else encode_data(text)


def _one_line(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


class SSEDecoder:
    """Incremental event-stream parser: ``feed`` bytes, get complete events back.

    Call :meth:`flush` at the end of the stream; an event that was not terminated by a
    blank line is returned there only when ``dispatch_unterminated`` is true, since an
    unterminated event usually means the stream was cut.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._pending_cr = False
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None
        self._has_field = False
        self.comments = 0
        """Comment lines (``: ping``) seen so far: keep-alives, never events."""

    def feed(self, chunk: bytes | str) -> list[ServerSentEvent]:
        """Add a chunk; return the events it completed, in order."""
        data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
        if not data:
            return []
        if self._pending_cr:
            # The previous chunk ended in CR: an LF now is the second half of one CRLF.
            self._pending_cr = False
            if data[:1] == b"\n":
                data = data[1:]
        lines = (self._buffer + data if self._buffer else data).splitlines(keepends=True)
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            self._buffer = lines.pop()
        else:
            self._buffer = b""
        if lines and lines[-1].endswith(b"\r"):
            self._pending_cr = True
        events: list[ServerSentEvent] = []
        for raw in lines:
            event = self._process_line(raw.rstrip(b"\r\n").decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        return events

    def flush(self, *, dispatch_unterminated: bool = False) -> list[ServerSentEvent]:
        """End of stream: process a trailing line and optionally the unterminated event."""
        events: list[ServerSentEvent] = []
        if self._buffer:
            line, self._buffer = self._buffer, b""
            self._process_line(line.decode("utf-8", "replace"))
        if dispatch_unterminated and self._has_field:
            event = self._dispatch()
            if event is not None:
                events.append(event)
        self._reset_event()
        return events

    @property
    def has_partial_event(self) -> bool:
        """True when bytes of an event arrived but its terminating blank line did not."""
        return self._has_field or bool(self._buffer)

    def _process_line(self, line: str) -> ServerSentEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._has_field = True
        elif name == "event":
            self._event = value
            self._has_field = True
        elif name == "id":
            if "\0" not in value:
                self._id = value
            self._has_field = True
        elif name == "retry":
            if value.isdigit():
                self._retry = int(value)
            self._has_field = True
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._has_field:
            return None
        if not self._data and self._event is None:
            self._reset_event()
            return None
        event = ServerSentEvent(
            data="\n".join(self._data), event=self._event, id=self._id, retry=self._retry
        )
        self._reset_event()
        return event

    def _reset_event(self) -> None:
        self._data = []
        self._event = None
        self._retry = None
        self._has_field = False


async def aiter_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """Decode an async byte stream into events (unterminated trailing events are dropped)."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.flush():
        yield event
