"""Calling providers: the retry and fallback loop, and one attempt against one provider.

The loop follows :mod:`plano_asgi.gateway.retry`: a target is retried while its failures
say a retry may help, then the next target is tried while they say a fallback may. All of
it happens before the first byte reaches the client; after that, :mod:`~plano_asgi.gateway.relay`
ends a broken answer in-band instead.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import anyio
import httpx2

from plano_asgi.errors import RateLimitedError, UpstreamError
from plano_asgi.gateway.outbound import prepare_call
from plano_asgi.gateway.relay import ProviderCall, relay_body, relay_stream
from plano_asgi.gateway.resolution import Target
from plano_asgi.gateway.upstream import (
    Failure,
    UpstreamResponse,
    classify_status,
    next_chunk,
    read_error_body,
    transport_failure,
)

if TYPE_CHECKING:
    from plano_asgi.gateway.exchange import Exchange

__all__ = ["attempt", "serve_targets"]

logger = logging.getLogger("plano_asgi.gateway")


async def serve_targets(
    ex: Exchange, targets: tuple[Target, ...], body: dict[str, Any], raw: bytes | None
) -> None:
    """Answer from the first of ``targets`` that succeeds, retrying each as policy allows.

    Raises the last failure's error when none succeeds; the exchange turns it into the
    client's error response.
    """
    policy = ex.deps.retry
    retries = policy.retries_for(ex.headers.get("x-envoy-max-retries"))
    last: Failure | None = None
    for position, target in enumerate(targets):
        if position:
            logger.warning("falling back from %s to %s", targets[position - 1].name, target.name)
            if ex.llm is not None:
                error = last.error if last is not None else None
                ex.llm.fallback(target.name, target.provider.prefix, error)
        if ex.deps.limiter:
            try:
                await ex.deps.limiter.check(target.provider, ex.headers, body)
            except RateLimitedError as exc:
                last = Failure(exc, retry=False, fall_back=True)
                continue
        try:
            call = prepare_call(ex, target, body, raw)
        except UpstreamError as exc:  # no endpoint known, or no key: not called
            last = Failure(exc, retry=False, fall_back=True)
            continue
        for number in range(retries + 1):
            if number and last is not None:
                wait = policy.backoff(number, last.retry_after)
                logger.info("retrying %s in %.3fs (attempt %d)", target.name, wait, number + 1)
                if ex.llm is not None:
                    upstream = getattr(last.error, "upstream_status", None)
                    ex.llm.retry(last.error, status=upstream)
                await anyio.sleep(wait)
            failure = await attempt(ex, call)
            if failure is None:
                return
            last = failure
            logger.warning(
                "provider %s attempt %d failed: %s",
                target.name,
                number + 1,
                failure.error.message,
            )
            if not failure.retry:
                break
            if failure.retry_after is not None and failure.retry_after > policy.max_retry_after:
                break
        if last is not None and not last.fall_back:
            break
    assert last is not None
    raise last.error


async def attempt(ex: Exchange, call: ProviderCall) -> Failure | None:
    """Send ``call`` once and relay its answer; ``None`` once the client has it.

    A :class:`Failure` means nothing reached the client yet, so the caller may still
    retry or fall back.
    """
    t = call.timeouts
    response: UpstreamResponse | None = None
    phase = "waiting for the first byte"
    try:
        with anyio.fail_after(t.connect + t.first_byte):
            response = await ex.deps.provider_client.post(call.url, call.headers, call.content, t)
            chunks = response.aiter_raw()
            if response.status_code >= 400:
                raw = await read_error_body(response, t)
                return classify_status(response, raw, target=call.target.name, secret=call.secret)
            first = await next_chunk(chunks, None)
        phase = "reading the response"
        if ex.stream:
            return await relay_stream(ex, call, response, chunks, first)
        return await relay_body(ex, call, response, chunks, first)
    except (httpx2.TransportError, TimeoutError) as exc:
        return transport_failure(exc, target=call.target.name, phase=phase)
    finally:
        if response is not None:
            # Shielded: on client disconnect this runs cancelled and must still close.
            with anyio.CancelScope(shield=True):
                await response.aclose()
