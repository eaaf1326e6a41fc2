"""Relaying a provider's answer to the client: whole bodies and event streams.

A stream's response headers are held back until the provider produced its first event
(bounded by ``first_byte``), so until then a failure is returned as a :class:`Failure` and
the exchange may retry or fall back. After that, every failure ends the stream with one
in-band error event, and a stream that stops without the provider's end marker counts as
a failure: the client never gets a truncated answer that looks complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from plano_asgi.config import HopTimeouts
from plano_asgi.errors import OutboundError, PlanoError, UpstreamError
from plano_asgi.gateway.providers import Api
from plano_asgi.gateway.resolution import Target
from plano_asgi.gateway.upstream import (
    MAX_ANSWER_BYTES,
    MAX_ERROR_BODY,
    Failure,
    UpstreamResponse,
    error_in_body,
    next_chunk,
    relayed_headers,
)
from plano_asgi.redaction import Redactor
from plano_asgi.sse import SSE_HEADERS, SSEDecoder
from plano_asgi.wire.anthropic import anthropic_to_openai_response
from plano_asgi.wire.anthropic_inbound import openai_to_anthropic_response
from plano_asgi.wire.anthropic_stream import AnthropicToOpenAI, OpenAIToAnthropic
from plano_asgi.wire.streams import (
    DONE_EVENT,
    AnthropicPassthrough,
    ClientEvent,
    OpenAIPassthrough,
    StreamAdapter,
    StreamFailedError,
    encode_client_event,
)

if TYPE_CHECKING:
    from plano_asgi.gateway.exchange import Exchange

__all__ = ["ProviderCall", "dumps", "idle_guard", "relay_body", "relay_stream"]


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """One prepared provider request: where, what, and the limits that apply."""

    target: Target
    api: Api
    url: str
    headers: dict[str, str]
    content: bytes
    timeouts: HopTimeouts
    redactor: Redactor
    """The exchange's keys plus the one this call sends: never relayed back."""


async def relay_body(
    ex: Exchange, call: ProviderCall, response: UpstreamResponse, chunks: Any, first: bytes | None
) -> Failure | None:
    """Read a whole (non-streamed) answer, translate and filter it, and send it.

    Nothing reaches the client until the body is complete and valid JSON, so a body cut
    short or garbled is still a retryable :class:`Failure`.
    """
    parts = [first] if first else []
    size = len(first or b"")
    while (chunk := await next_chunk(chunks, idle_guard(ex, call.timeouts))) is not None:
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            error = UpstreamError(
                f"Provider '{call.target.name}' sent a response larger than "
                f"{MAX_ANSWER_BYTES} bytes.",
                hop="provider",
                target=call.target.name,
            )
            return Failure(error, retry=False, fall_back=True)
        parts.append(chunk)
    data = call.redactor.body(b"".join(parts))
    try:
        obj = json.loads(data)
    except ValueError:
        error = UpstreamError(
            f"Provider '{call.target.name}' sent a malformed response.",
            hop="provider",
            target=call.target.name,
        )
        return Failure(error, retry=True, fall_back=True)
    if isinstance(obj, dict) and "error" in obj:
        failure = error_in_body(data, target=call.target.name, redactor=call.redactor)
        if failure is not None:
            return failure
    if call.api != ex.api:
        if ex.api == "openai":
            obj = anthropic_to_openai_response(obj)
        else:
            obj = openai_to_anthropic_response(obj, call.target.model)
        data = dumps(obj)
    if ex.deps.output_filters:
        filtered = await ex.deps.output_filters.run_event(obj, ex.call)
        if filtered is None:
            raise UpstreamError(
                "An output filter withheld the whole response.",
                hop="filter",
                target="output_filters",
            )
        data = dumps(filtered)
    _note_usage(ex, obj)
    if ex.llm is not None:
        ex.llm.first_token()
    ex.trace.first_byte()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"x-plano-model", call.target.name.encode("latin-1", "replace")),
        *relayed_headers(response),
    ]
    ex.started = True
    ex.status = 200
    await ex.send({"type": "http.response.start", "status": 200, "headers": headers})
    await ex.send({"type": "http.response.body", "body": data, "more_body": False})
    return None


def _adapter(ex: Exchange, call: ProviderCall) -> StreamAdapter:
    if call.api == ex.api:
        return OpenAIPassthrough() if ex.api == "openai" else AnthropicPassthrough()
    if ex.api == "openai":
        return AnthropicToOpenAI(call.target.model)
    return OpenAIToAnthropic(call.target.model)


async def _client_bytes(ex: Exchange, adapter: StreamAdapter, events: list[ClientEvent]) -> bytes:
    parts: list[bytes] = []
    filters = ex.deps.output_filters
    for event in events:
        if isinstance(event.data, dict) and event.data.get("usage"):
            _note_usage(ex, event.data)
        if filters and event is not DONE_EVENT:
            filtered = await filters.run_event(event.data, ex.call)
            if filtered is None:
                continue
            event = ClientEvent(event.name, filtered)
        parts.append(encode_client_event(event))
    return b"".join(parts)


async def _translate(
    ex: Exchange, adapter: StreamAdapter, decoder: SSEDecoder, chunk: bytes
) -> bytes:
    events: list[ClientEvent] = []
    for sse in decoder.feed(chunk):
        events.extend(adapter.on_event(sse))
        if adapter.done:
            break
    return await _client_bytes(ex, adapter, events) if events else b""


async def relay_stream(
    ex: Exchange, call: ProviderCall, response: UpstreamResponse, chunks: Any, chunk: bytes | None
) -> Failure | None:
    """Relay an event stream, translating and filtering each event (see the module doc)."""
    stream = _Stream(ex, call, chunks)
    first = await stream.first_events(chunk)
    if isinstance(first, Failure):
        return first  # nothing was sent: the caller may retry or fall back
    await stream.start(response, first)
    await stream.relay_rest()
    return None


class _Stream:
    """One provider stream on its way to the client: the decoder, the adapter, the limits."""

    def __init__(self, ex: Exchange, call: ProviderCall, chunks: Any) -> None:
        self.ex = ex
        self.call = call
        self.name = call.target.name
        self.chunks = chunks
        self.decoder = SSEDecoder()
        self.scrub = call.redactor.stream()
        self.adapter = _adapter(ex, call)
        self.guard = idle_guard(ex, call.timeouts)

    async def _translate(self, chunk: bytes) -> bytes:
        return await _translate(self.ex, self.adapter, self.decoder, chunk)

    async def first_events(self, chunk: bytes | None) -> bytes | Failure:
        """The client's bytes of the provider's first event(s), within ``first_byte``; a
        :class:`Failure` when the provider fails, stalls or ends before any event."""
        seen: list[bytes] = []  # the bytes before the first event: maybe a JSON error
        try:
            with anyio.fail_after(self.call.timeouts.first_byte):
                while True:
                    if chunk is None:
                        return self._ended_early(b"".join(seen) + self.scrub.flush())
                    chunk = self.scrub.feed(chunk)
                    if sum(map(len, seen)) < MAX_ERROR_BODY:
                        seen.append(chunk)
                    out = await self._translate(chunk)
                    if out or self.adapter.done:
                        return out
                    chunk = await next_chunk(self.chunks, self.guard)
        except StreamFailedError as exc:
            error = UpstreamError(
                f"Provider '{self.name}': {exc.message}", hop="provider", target=self.name
            )
            return Failure(error, retry=True, fall_back=True)

    def _ended_early(self, seen: bytes) -> Failure:
        failure = error_in_body(seen, target=self.name, redactor=self.call.redactor)
        if failure is not None:
            return failure
        error = UpstreamError(
            f"Provider '{self.name}' ended the stream before any event.",
            hop="provider",
            target=self.name,
        )
        return Failure(error, retry=True, fall_back=True)

    async def start(self, response: UpstreamResponse, first: bytes) -> None:
        """Send the response headers and the first event(s): no retry after this."""
        ex = self.ex
        ex.started = True
        ex.status = 200
        if ex.llm is not None:
            ex.llm.first_token()
        ex.trace.first_byte()
        headers = [
            *SSE_HEADERS,
            (b"x-plano-model", self.name.encode("latin-1", "replace")),
            *relayed_headers(response),
        ]
        await ex.send({"type": "http.response.start", "status": 200, "headers": headers})
        if first:
            await ex.send({"type": "http.response.body", "body": first, "more_body": True})

    async def relay_rest(self) -> None:
        """Relay the events after the first to the provider's end marker; any failure on
        the way ends the stream with one in-band error event."""
        ex, name, idle = self.ex, self.name, self.call.timeouts.idle
        # Keep-alives (``: ping`` comments, Anthropic ``ping`` events) give the client
        # nothing, so they do not count as progress: after one, the next read may only
        # wait for what is left of ``idle`` since the last event that did.
        progressed = anyio.current_time()
        waiting = False
        try:
            while not self.adapter.done:
                limit = self.guard
                if waiting:
                    limit = idle - (anyio.current_time() - progressed)
                    if limit <= 0:
                        raise TimeoutError
                chunk = await next_chunk(self.chunks, limit)
                if chunk is None:
                    raise StreamFailedError("the provider's stream ended without its end marker")
                out = await self._translate(self.scrub.feed(chunk))
                if out:
                    await ex.send({"type": "http.response.body", "body": out, "more_body": True})
                    progressed, waiting = anyio.current_time(), False
                elif not waiting:
                    waiting = True
            out = await _client_bytes(ex, self.adapter, self.adapter.finish())
        except StreamFailedError as exc:
            await ex.end_in_band(f"Provider '{name}': {exc.message}; the answer is incomplete.")
        except TimeoutError:
            await ex.end_in_band(
                f"Provider '{name}' stalled: no data for {idle:g}s; the answer is incomplete."
            )
        except OutboundError as exc:
            await ex.end_in_band(
                f"Provider '{name}' connection failed mid-stream ({exc.what}); "
                "the answer is incomplete."
            )
        except PlanoError as exc:
            await ex.end_in_band(exc.message)
        else:
            await ex.send({"type": "http.response.body", "body": out, "more_body": False})
            await _drain(self.chunks, min(idle, 1.0))


async def _drain(chunks: Any, seconds: float) -> None:
    # After the end marker only the body's terminator is left; reading it lets the
    # connection go back to the pool instead of being closed (the client already has
    # its whole answer, so this costs it nothing).
    with anyio.move_on_after(seconds):
        try:
            while await next_chunk(chunks, None) is not None:
                pass
        except (OutboundError, OSError):
            pass


def idle_guard(ex: Exchange, timeouts: HopTimeouts) -> float | None:
    """The explicit idle deadline to use, or ``None`` when the client's read timeout covers it."""
    return timeouts.idle if timeouts.idle < timeouts.first_byte else None


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _note_usage(ex: Exchange, data: Any) -> None:
    # OpenAI (prompt/completion_tokens) or Anthropic (input/output_tokens) usage.
    usage = data.get("usage") if isinstance(data, dict) else None
    if ex.llm is None or not isinstance(usage, dict):
        return
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    if isinstance(prompt, int) or isinstance(completion, int):
        ex.llm.usage(
            prompt if isinstance(prompt, int) else None,
            completion if isinstance(completion, int) else None,
        )
