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
import httpx2

from plano_asgi.config import HopTimeouts
from plano_asgi.errors import PlanoError, UpstreamError
from plano_asgi.gateway.anthropic import anthropic_to_openai_response
from plano_asgi.gateway.anthropic_inbound import openai_to_anthropic_response
from plano_asgi.gateway.anthropic_stream import AnthropicToOpenAI, OpenAIToAnthropic
from plano_asgi.gateway.providers import Api
from plano_asgi.gateway.resolution import Target
from plano_asgi.gateway.streams import (
    DONE_EVENT,
    AnthropicPassthrough,
    ClientEvent,
    OpenAIPassthrough,
    StreamAdapter,
    StreamFailedError,
    encode_client_event,
)
from plano_asgi.gateway.upstream import (
    MAX_ERROR_BODY,
    Failure,
    UpstreamResponse,
    error_in_body,
    next_chunk,
    relayed_headers,
)
from plano_asgi.sse import SSE_HEADERS, SSEDecoder

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
    secret: str | None


async def relay_body(
    ex: Exchange, call: ProviderCall, response: UpstreamResponse, chunks: Any, first: bytes | None
) -> Failure | None:
    """Read a whole (non-streamed) answer, translate and filter it, and send it.

    Nothing reaches the client until the body is complete and valid JSON, so a body cut
    short or garbled is still a retryable :class:`Failure`.
    """
    parts = [first] if first else []
    while (chunk := await next_chunk(chunks, idle_guard(ex, call.timeouts))) is not None:
        parts.append(chunk)
    data = b"".join(parts)
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
        failure = error_in_body(data, target=call.target.name, secret=call.secret)
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
    name = call.target.name
    decoder = SSEDecoder()
    adapter = _adapter(ex, call)
    idle = call.timeouts.idle
    guard = idle_guard(ex, call.timeouts)
    seen: list[bytes] = []  # the bytes before the first event: maybe a JSON error
    try:
        with anyio.fail_after(call.timeouts.first_byte):
            while True:
                if chunk is None:
                    failure = error_in_body(b"".join(seen), target=name, secret=call.secret)
                    if failure is not None:
                        return failure
                    error = UpstreamError(
                        f"Provider '{name}' ended the stream before any event.",
                        hop="provider",
                        target=name,
                    )
                    return Failure(error, retry=True, fall_back=True)
                if sum(map(len, seen)) < MAX_ERROR_BODY:
                    seen.append(chunk)
                out = await _translate(ex, adapter, decoder, chunk)
                if out or adapter.done:
                    break
                chunk = await next_chunk(chunks, guard)
    except StreamFailedError as exc:
        error = UpstreamError(f"Provider '{name}': {exc.message}", hop="provider", target=name)
        return Failure(error, retry=True, fall_back=True)
    ex.started = True
    ex.status = 200
    if ex.llm is not None:
        ex.llm.first_token()
    ex.trace.first_byte()
    headers = [
        *SSE_HEADERS,
        (b"x-plano-model", name.encode("latin-1", "replace")),
        *relayed_headers(response),
    ]
    await ex.send({"type": "http.response.start", "status": 200, "headers": headers})
    if out:
        await ex.send({"type": "http.response.body", "body": out, "more_body": True})
    try:
        while not adapter.done:
            chunk = await next_chunk(chunks, guard)
            if chunk is None:
                raise StreamFailedError("the provider's stream ended without its end marker")
            out = await _translate(ex, adapter, decoder, chunk)
            if out:
                await ex.send({"type": "http.response.body", "body": out, "more_body": True})
        out = await _client_bytes(ex, adapter, adapter.finish())
    except StreamFailedError as exc:
        await ex.end_in_band(f"Provider '{name}': {exc.message}; the answer is incomplete.")
    except (TimeoutError, httpx2.TimeoutException):
        await ex.end_in_band(
            f"Provider '{name}' stalled: no data for {idle:g}s; the answer is incomplete."
        )
    except httpx2.TransportError as exc:
        await ex.end_in_band(
            f"Provider '{name}' connection failed mid-stream ({type(exc).__name__}); "
            "the answer is incomplete."
        )
    except PlanoError as exc:
        await ex.end_in_band(exc.message)
    else:
        await ex.send({"type": "http.response.body", "body": out, "more_body": False})
        await _drain(chunks, min(idle, 1.0))
    return None


async def _drain(chunks: Any, seconds: float) -> None:
    # After the end marker only the body's terminator is left; reading it lets the
    # connection go back to the pool instead of being closed (the client already has
    # its whole answer, so this costs it nothing).
    with anyio.move_on_after(seconds):
        try:
            while await next_chunk(chunks, None) is not None:
                pass
        except (httpx2.TransportError, OSError):
            pass


def idle_guard(ex: Exchange, timeouts: HopTimeouts) -> float | None:
    """The explicit idle deadline to use, or ``None`` when httpx2's read timeout covers it."""
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
