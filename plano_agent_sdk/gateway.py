"""The gateway client: ``openai.AsyncOpenAI`` pointed at the model gateway, trace-aware.

Every call it makes gets the *current* request's ``traceparent``/``tracestate`` and
``x-request-id`` from :func:`~plano_agent_sdk.context.current_context`, added by one async
request event hook on the underlying HTTP client (httpx's public seam; simpler than
wrapping the transport). So agent code never passes headers, and a task your handler
starts still forwards the right ids, because tasks copy the context they were started in.

Headers you pass yourself win: the hook only fills in what is missing.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx2
from openai import AsyncOpenAI

from plano_agent_sdk.context import current_context
from plano_asgi.config.settings import PlanoSettings
from plano_asgi.outbound import outbound_client
from plano_asgi.telemetry.propagation import inject_headers

__all__ = ["DEFAULT_TIMEOUT", "forward_context", "gateway_client"]

#: Connect quickly, but give reasoning models time: httpx's 5 s read default is too short.
DEFAULT_TIMEOUT = httpx2.Timeout(300.0, connect=5.0)


class _HeadersRequest(Protocol):
    @property
    def headers(self) -> Any: ...


async def forward_context(request: _HeadersRequest) -> None:
    """Request event hook: add the current request's trace context and request id.

    Add it to your own ``httpx``/``httpx2`` client with
    ``event_hooks={"request": [forward_context]}`` when you call other services yourself.
    Outside a request (no current context) it leaves the request alone.
    """
    ctx = current_context()
    if ctx is None:
        return
    headers = request.headers
    if "x-request-id" not in headers:
        headers["x-request-id"] = ctx.request_id
    if "traceparent" not in headers:
        # With an OpenTelemetry SDK configured, the agent's own span becomes the parent;
        # without one, the caller's headers are carried unchanged.
        carrier: dict[str, str] = {}
        inject_headers(carrier, incoming=ctx.propagation_headers())
        for name, value in carrier.items():
            headers[name] = value


def gateway_client(
    base_url: str | None = None,
    *,
    api_key: str | None = None,
    timeout: float | httpx2.Timeout | None = None,
    max_retries: int = 2,
    default_headers: dict[str, str] | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` for the model gateway that forwards the current request's ids.

    ``base_url`` defaults to ``LLM_GATEWAY_ENDPOINT`` / ``PLANO_GATEWAY_URL`` (else
    ``http://127.0.0.1:12000/v1``). ``api_key`` defaults to a placeholder: the gateway
    holds the provider keys, and a key from ``OPENAI_API_KEY`` is deliberately not picked
    up so it never travels somewhere you did not intend. ``transport`` is for tests
    (e.g. ``httpx2.ASGITransport(app=ScriptedLLM(...))``).

    You own the client: close it with ``await client.close()``. An :class:`Agent` creates
    one for you and closes it on shutdown.
    """
    url = base_url if base_url is not None else PlanoSettings().gateway_url
    limit = DEFAULT_TIMEOUT if timeout is None else timeout
    http_client = outbound_client(
        timeout=limit, transport=transport, request_hooks=[forward_context]
    )
    return AsyncOpenAI(
        base_url=url,
        api_key=api_key or "plano",
        timeout=limit,
        max_retries=max_retries,
        default_headers=default_headers,
        http_client=http_client,
    )
