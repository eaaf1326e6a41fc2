"""Upstream SSE events in, client SSE events out: the stream seam of the gateway.

A :class:`StreamAdapter` reads the events of one upstream stream and returns the events
the client should see, in the client's wire format. It also tells whether the upstream
finished properly (OpenAI ``[DONE]``, Anthropic ``message_stop``): a stream that ends
without it was cut, and the client gets an in-band error instead of a silent truncation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from plano_asgi.sse import DONE, ServerSentEvent, encode_data, encode_event

__all__ = [
    "AnthropicPassthrough",
    "ClientEvent",
    "DONE_EVENT",
    "OpenAIPassthrough",
    "StreamAdapter",
    "StreamFailedError",
    "encode_client_event",
    "in_band_error",
    "parse_event_data",
]

Api = Literal["openai", "anthropic"]


class StreamFailedError(Exception):
    """The upstream stream sent an error event or something that is not valid JSON."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(slots=True)
class ClientEvent:
    """One event for the client: ``data`` parsed, ``raw`` the original text when unchanged."""

    name: str | None
    data: Any
    raw: str | None = None


DONE_EVENT = ClientEvent(None, None, DONE)


def parse_event_data(sse: ServerSentEvent) -> Any:
    """The event's JSON, or :class:`StreamFailedError` naming what was wrong."""
    try:
        return json.loads(sse.data)
    except ValueError:
        raise StreamFailedError("the provider sent a malformed stream event") from None


class StreamAdapter(Protocol):
    """Translates (or relays) one upstream stream for one client."""

    done: bool
    """True once the upstream signalled a proper end."""

    def on_event(self, sse: ServerSentEvent) -> list[ClientEvent]:
        """The client events for one upstream event; raises :class:`StreamFailedError`."""
        ...

    def finish(self) -> list[ClientEvent]:
        """The closing client events, after the upstream ended properly."""
        ...


class OpenAIPassthrough:
    """OpenAI upstream to OpenAI client: relays each chunk's original text."""

    def __init__(self) -> None:
        self.done = False

    def on_event(self, sse: ServerSentEvent) -> list[ClientEvent]:
        if sse.is_done:
            self.done = True
            return []
        data = parse_event_data(sse)
        if isinstance(data, dict) and data.get("error"):
            error = data["error"]
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise StreamFailedError(f"the provider reported an error mid-stream: {message}")
        return [ClientEvent(None, data, sse.data)]

    def finish(self) -> list[ClientEvent]:
        return [DONE_EVENT]


class AnthropicPassthrough:
    """Anthropic upstream to Anthropic client: relays events, ends at ``message_stop``."""

    def __init__(self) -> None:
        self.done = False

    def on_event(self, sse: ServerSentEvent) -> list[ClientEvent]:
        data = parse_event_data(sse)
        name = sse.event or (data.get("type") if isinstance(data, dict) else None)
        if name == "error":
            error = data.get("error") if isinstance(data, dict) else None
            message = error.get("message") if isinstance(error, dict) else sse.data
            raise StreamFailedError(f"the provider reported an error mid-stream: {message}")
        if name == "message_stop":
            self.done = True
        return [ClientEvent(name, data, sse.data)]

    def finish(self) -> list[ClientEvent]:
        return []


def encode_client_event(event: ClientEvent) -> bytes:
    """The bytes of one client event (``raw`` reused when the event was not changed)."""
    text = event.raw
    if text is None:
        text = json.dumps(event.data, separators=(",", ":"), ensure_ascii=False)
    if event.name is None:
        return encode_data(text)
    return encode_event(text, event=event.name)


def in_band_error(api: Api, message: str, *, code: str = "stream_failed") -> bytes:
    """The terminal error event for a stream that failed after it started."""
    if api == "anthropic":
        body: dict[str, Any] = {"type": "error", "error": {"type": "api_error", "message": message}}
        return encode_event(json.dumps(body), event="error")
    payload = {"error": {"message": message, "type": "upstream_error", "code": code, "param": None}}
    return encode_data(json.dumps(payload))
