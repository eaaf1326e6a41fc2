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

from plano_asgi.errors import (
    OutboundError,
    RateLimitedError,
    UpstreamError,
    UpstreamTimeoutError,
)
from plano_asgi.gateway.outbound import prepare_call
from plano_asgi.gateway.relay import ProviderCall, relay_body, relay_stream
from plano_asgi.gateway.resolution import Target
from plano_asgi.gateway.retry import QUICK_RETRY_AFTER
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

    One failover budget bounds the whole loop (:meth:`RetryPolicy.budget_for`): no
    attempt starts after it, and an attempt with other targets still to try gets only
    its share of what is left, so a provider that stalls before answering costs a part
    of the budget, not all of it. A stalled attempt is not retried on the same target
    while another one is left, and a ``Retry-After`` longer than a second sends the
    request to the next target instead of waiting. Raises the last failure's error when
    none succeeds; the exchange turns it into the client's error response.
    """
    policy = ex.deps.retry
    retries = policy.retries_for(ex.headers.get("x-envoy-max-retries"))
    first_byte = max((_attempt_limit(ex, t) for t in targets), default=0.0)
    deadline = anyio.current_time() + policy.budget_for(stream=ex.stream, first_byte=first_byte)
    last: Failure | None = None
    for position, target in enumerate(targets):
        left_after = len(targets) - position - 1  # targets still to try after this one
        if anyio.current_time() >= deadline:
            break
        if position:
            logger.warning("falling back from %s to %s", targets[position - 1].name, target.name)
            if ex.llm is not None:
                error = last.error if last is not None else None
                ex.llm.fallback(target.name, target.provider.prefix, error)
        opened = await _open_target(ex, target, body, raw)
        if isinstance(opened, Failure):
            last = opened
            continue
        answered, last = await _retry_target(ex, opened, retries, deadline, left_after, last)
        if answered:
            return
        if last is not None and not last.fall_back:
            break
    if last is None:  # the budget ran out before any target could be tried
        name = targets[0].name
        raise UpstreamTimeoutError(
            f"Provider '{name}' was not tried: the failover budget ran out.",
            hop="provider",
            target=name,
        )
    raise last.error


async def _open_target(
    ex: Exchange, target: Target, body: dict[str, Any], raw: bytes | None
) -> ProviderCall | Failure:
    """The call to ``target``, or the failure that skips it (rate limited, not callable)."""
    if ex.deps.limiter:
        try:
            await ex.deps.limiter.check(target.provider, ex.headers, body)
        except RateLimitedError as exc:
            return Failure(exc, retry=False, fall_back=True)
    try:
        return prepare_call(ex, target, body, raw)
    except UpstreamError as exc:  # no endpoint known, or no key: not called
        return Failure(exc, retry=False, fall_back=True)


async def _retry_target(
    ex: Exchange,
    call: ProviderCall,
    retries: int,
    deadline: float,
    left_after: int,
    last: Failure | None,
) -> tuple[bool, Failure | None]:
    """Attempt ``call`` up to ``retries`` more times within ``deadline``: (answered, the
    last failure). ``left_after`` targets are still to try after this one."""
    policy = ex.deps.retry
    target = call.target
    for number in range(retries + 1):
        if number and last is not None:
            wait = policy.backoff(number, last.retry_after)
            if left_after and last.retry_after is not None and wait > QUICK_RETRY_AFTER:
                break  # another model can answer now
            if anyio.current_time() + wait >= deadline:
                break
            logger.info("retrying %s in %.3fs (attempt %d)", target.name, wait, number + 1)
            if ex.llm is not None:
                upstream = getattr(last.error, "upstream_status", None)
                ex.llm.retry(last.error, status=upstream)
            await anyio.sleep(wait)
        left = deadline - anyio.current_time()
        if left <= 0:
            break
        failure = await attempt(ex, call, limit=left / (left_after + 1))
        if failure is None:
            return True, last
        last = failure
        logger.warning(
            "provider %s attempt %d failed: %s", target.name, number + 1, failure.error.message
        )
        if _stop_retrying(failure, policy.max_retry_after, left_after):
            break
    return False, last


def _stop_retrying(failure: Failure, max_retry_after: float, left_after: int) -> bool:
    """Whether this failure ends the attempts on its target."""
    if not failure.retry:
        return True
    if failure.retry_after is not None and failure.retry_after > max_retry_after:
        return True
    # A provider that stalled is likely to stall again: move on while another is left.
    return bool(left_after) and isinstance(failure.error, UpstreamTimeoutError)


def _attempt_limit(ex: Exchange, target: Target) -> float:
    timeouts = ex.deps.timeouts.get(target.provider.display_name)
    return 0.0 if timeouts is None else timeouts.connect + timeouts.first_byte


async def attempt(
    ex: Exchange, call: ProviderCall, *, limit: float | None = None
) -> Failure | None:
    """Send ``call`` once and relay its answer; ``None`` once the client has it.

    A :class:`Failure` means nothing reached the client yet, so the caller may still
    retry or fall back. ``limit`` cuts the wait for the first byte below the target's
    own ``connect + first_byte`` (the failover budget's share).
    """
    t = call.timeouts
    response: UpstreamResponse | None = None
    own = t.connect + t.first_byte
    waited = own if limit is None else min(own, limit)
    phase = (
        "waiting for the first byte"
        if waited == own
        else f"no first byte within {waited:.3g}s, its share of the failover budget"
    )
    try:
        with anyio.fail_after(waited):
            response = await ex.deps.provider_client.post(call.url, call.headers, call.content, t)
            chunks = response.aiter_raw()
            if response.status_code >= 400:
                raw = await read_error_body(response, t)
                return classify_status(
                    response, raw, target=call.target.name, redactor=call.redactor
                )
            first = await next_chunk(chunks, None)
        phase = "reading the response"
        if ex.stream:
            return await relay_stream(ex, call, response, chunks, first)
        return await relay_body(ex, call, response, chunks, first)
    except (OutboundError, TimeoutError) as exc:
        return transport_failure(exc, target=call.target.name, phase=phase)
    finally:
        if response is not None:
            # Shielded: on client disconnect this runs cancelled and must still close.
            with anyio.CancelScope(shield=True):
                await response.aclose()
