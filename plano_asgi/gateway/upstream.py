"""One provider call on the wire: timeouts per phase, raw byte relay, failure classification.

Timeouts come from :class:`~plano_asgi.config.HopTimeouts` (provider, else listener):
``connect`` bounds the TCP/TLS setup, ``connect + first_byte`` bounds everything up to the
response headers *and* the first body bytes, and ``idle`` bounds every silence between two
body chunks after that. Bodies are read with ``aiter_raw``; we ask providers for
``identity`` encoding so raw bytes are the JSON/SSE text itself.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import httpx2

from plano_asgi.config import HopTimeouts
from plano_asgi.errors import (
    OutboundError,
    OutboundRequestError,
    PlanoError,
    UpstreamError,
    UpstreamTimeoutError,
)
from plano_asgi.gateway.retry import retry_after_seconds, should_fall_back, should_retry
from plano_asgi.gateway.tls import tls_failure_detail
from plano_asgi.redaction import Redactor
from plano_asgi.wire.anthropic import openai_error_from_anthropic

__all__ = [
    "Failure",
    "classify_status",
    "error_in_body",
    "next_chunk",
    "provider_error",
    "read_error_body",
    "relayed_headers",
    "UpstreamResponse",
    "transport_failure",
]


class UpstreamResponse(Protocol):
    """What the gateway reads from a provider (see :mod:`plano_asgi.gateway.provider_client`)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> httpx2.Headers: ...

    def aiter_raw(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


#: Provider error bodies beyond this size are cut (they are only ever error messages).
MAX_ERROR_BODY = 64 * 1024
#: A whole (non-streamed) provider answer is read up to this size; a larger one is a 502 and
#: the next candidate is tried (a streamed answer is relayed event by event, never held).
MAX_ANSWER_BYTES = 32 * 1024 * 1024
#: Provider response headers passed to the client (rate-limit state and request ids).
RELAYED_PREFIXES = (b"x-ratelimit-", b"anthropic-ratelimit-", b"x-request-id", b"request-id")


def relayed_headers(response: UpstreamResponse) -> list[tuple[bytes, bytes]]:
    """The provider's headers a client may use: its rate-limit state and request ids."""
    return [
        (key.lower(), value)
        for key, value in response.headers.raw
        if key.lower().startswith(RELAYED_PREFIXES)
    ]


def provider_error(
    status: int, envelope: dict[str, Any], *, target: str, retry_after: float | None
) -> UpstreamError:
    """The provider's own error, passed to the client with its status and message.

    Used for errors that cannot succeed elsewhere (400, context length exceeded, content
    filter) and for a 429 that outlived our retries. The body keeps the provider's
    ``type``/``code``/``param`` (secrets already removed) and adds ``provider``.
    """
    error = envelope.get("error") or {}
    message = str(error.get("message") or f"Provider '{target}' answered HTTP {status}.")
    extra = {key: error[key] for key in ("type", "code", "param") if error.get(key) is not None}
    extra["provider"] = target
    return UpstreamError(
        message,
        hop="provider",
        target=target,
        upstream_status=status,
        status_code=status,
        extra=extra,
        retry_after=retry_after,
    )


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt: what to tell the client if it stays the last, and what may help."""

    error: PlanoError
    retry: bool
    fall_back: bool
    retry_after: float | None = None


async def read_error_body(response: UpstreamResponse, timeouts: HopTimeouts) -> bytes:
    """Up to :data:`MAX_ERROR_BODY` bytes of an error response, within the idle timeout."""
    parts: list[bytes] = []
    size = 0
    with anyio.move_on_after(timeouts.idle):
        async for chunk in response.aiter_raw():
            parts.append(chunk)
            size += len(chunk)
            if size >= MAX_ERROR_BODY:
                break
    return b"".join(parts)[:MAX_ERROR_BODY]


def classify_status(
    response: UpstreamResponse, raw: bytes, *, target: str, redactor: Redactor
) -> Failure:
    """Turn a provider's error response into a :class:`Failure` (keys redacted first)."""
    status = response.status_code
    text = redactor.text(raw.decode("utf-8", errors="replace"))
    envelope: dict[str, Any] | None = None
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict) and "type" not in body:
        envelope = {"error": body["error"]}
    else:
        envelope = openai_error_from_anthropic(body)
    if envelope is None:
        snippet = " ".join(text.split())[:300] or f"HTTP {status}"
        envelope = {"error": {"message": snippet, "type": "upstream_error", "code": None}}
    retry_after = retry_after_seconds(response.headers)
    retry = should_retry(status)
    error: PlanoError
    if status >= 500 or status == 408:
        detail = str((envelope.get("error") or {}).get("message", ""))[:200]
        error = UpstreamError(
            f"Provider '{target}' failed with HTTP {status}: {detail}".rstrip(": "),
            hop="provider",
            target=target,
            upstream_status=status,
        )
    else:
        error = provider_error(status, envelope, target=target, retry_after=retry_after)
    return Failure(error, retry=retry, fall_back=should_fall_back(status), retry_after=retry_after)


def error_in_body(raw: bytes, *, target: str, redactor: Redactor) -> Failure | None:
    """A :class:`Failure` when a provider answered HTTP 200 with an error object, else None.

    Some providers (and proxies in front of them) answer a stream request with a plain JSON
    error and status 200. The client gets the provider's message in the OpenAI envelope:
    with the provider's own 4xx status when the error object names one (``status`` or a
    numeric ``code``), else 502. Only a named 408/429/5xx is retried; any other falls back.
    """
    text = redactor.text(raw.decode("utf-8", errors="replace"))
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict) or "choices" in body:
        return None
    envelope = openai_error_from_anthropic(body)
    if envelope is None and isinstance(body.get("error"), dict):
        envelope = {"error": body["error"]}
    elif envelope is None and isinstance(body.get("error"), str):
        envelope = {"error": {"message": body["error"]}}
    if envelope is None:
        return None
    error = envelope["error"]
    candidates = (error.get("status"), error.get("code"), body.get("status"))
    named = [v for v in candidates if isinstance(v, int) and 400 <= v <= 599]
    status = named[0] if named else None
    if status is not None and status < 500 and status not in (408, 429):
        failure = provider_error(status, envelope, target=target, retry_after=None)
        return Failure(failure, retry=False, fall_back=should_fall_back(status))
    message = " ".join(str(error.get("message") or "an error without a message").split())
    extra = {key: error[key] for key in ("type", "code", "param") if error.get(key) is not None}
    extra["provider"] = target
    return Failure(
        UpstreamError(
            f"Provider '{target}' answered with an error: {message[:300]}",
            hop="provider",
            target=target,
            upstream_status=200,
            extra=extra,
        ),
        retry=status is not None and should_retry(status),
        fall_back=True,
    )


def transport_failure(exc: BaseException, *, target: str, phase: str) -> Failure:
    """A :class:`Failure` for a connection error or a timeout.

    Both are retried, except a failed TLS handshake (a certificate that does not match the
    host or comes from an untrusted CA will not change in a second) and a request that
    could not be sent at all (a header value with CR/LF): those fall back to the next
    target at once, and the message says what was wrong.
    """
    if isinstance(exc, TimeoutError):
        error: PlanoError = UpstreamTimeoutError(
            f"Provider '{target}' timed out ({phase}).", hop="provider", target=target
        )
    elif isinstance(exc, OutboundRequestError):  # never sent: no retry can help
        error = UpstreamError(
            f"Provider '{target}' was not called: a request header value has a line break "
            "or another control character. Check its access_key and http_host.",
            hop="provider",
            target=target,
        )
        return Failure(error, retry=False, fall_back=True)
    elif (tls := tls_failure_detail(exc)) is not None:
        error = UpstreamError(
            f"Provider '{target}' could not be reached securely: {tls}. Check its base_url "
            "and http_host, or trust its CA with overrides.upstream_tls_ca_path.",
            hop="provider",
            target=target,
        )
        return Failure(error, retry=False, fall_back=True)
    else:
        error = UpstreamError(
            f"Provider '{target}' could not be reached: {_reason(exc)}.",
            hop="provider",
            target=target,
        )
    return Failure(error, retry=True, fall_back=True)


def _reason(exc: BaseException) -> str:
    return exc.what if isinstance(exc, OutboundError) else type(exc).__name__


async def next_chunk(chunks: AsyncIterator[bytes], seconds: float | None) -> bytes | None:
    """The next body chunk, ``None`` at the end; ``TimeoutError`` after ``seconds``.

    With ``seconds=None`` no extra deadline is set: the caller relies on an enclosing one or
    on the client's own per-read timeout (cheaper on the hot path).
    """
    if seconds is None:
        return await anext(chunks, None)
    with anyio.fail_after(seconds):
        return await anext(chunks, None)
