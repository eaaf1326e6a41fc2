"""One client request through the gateway: resolve, filter, call with retries, relay.

All per-request state lives on :class:`Exchange`. The request body is read once and
parsed once; only ``model`` and ``stream`` are looked at unless the request must be
translated (OpenAI client to Anthropic model or the reverse) or filtered.

Reliability rules (see :mod:`plano_asgi.gateway.retry`): retries and fallbacks happen only
until the first byte is sent to the client. A stream holds its response headers back
until the provider produced its first event, so a slow or broken start can still be
retried. Once the stream is open, a failure ends it with exactly one in-band error event;
a stream that stops without the provider's end marker is reported the same way, never
passed off as complete. The client going away cancels the provider call.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
from opentelemetry.trace import Tracer
from starlette.types import Message, Receive, Scope, Send

from plano_asgi._asgi import ClientDisconnectedError, read_body, route_path, send_json
from plano_asgi.config import HopTimeouts, Tracing
from plano_asgi.errors import PlanoError, RateLimitedError, RequestError, UpstreamError
from plano_asgi.filters.base import FilterCall
from plano_asgi.filters.chain import FilterChain
from plano_asgi.gateway.anthropic import anthropic_error, openai_to_anthropic_request
from plano_asgi.gateway.anthropic_inbound import anthropic_to_openai_request
from plano_asgi.gateway.http1 import Http1Pool
from plano_asgi.gateway.keys import missing_key, needs_key
from plano_asgi.gateway.providers import Api, Endpoint, auth_headers
from plano_asgi.gateway.ratelimit import RateLimiter
from plano_asgi.gateway.relay import ProviderCall, dumps, relay_body, relay_stream
from plano_asgi.gateway.resolution import ModelResolver, Target
from plano_asgi.gateway.retry import RetryPolicy
from plano_asgi.gateway.streams import (
    in_band_error,
)
from plano_asgi.gateway.upstream import (
    Failure,
    UpstreamResponse,
    classify_status,
    next_chunk,
    read_error_body,
    transport_failure,
)
from plano_asgi.telemetry.attributes import SERVICE_LLM
from plano_asgi.telemetry.metrics import PlanoMetrics
from plano_asgi.telemetry.request import RequestTrace
from plano_asgi.telemetry.spans import LLMSpan
from plano_asgi.tracing import inject_headers

__all__ = ["Exchange", "GatewayDeps"]

logger = logging.getLogger("plano_asgi.gateway")

_FORWARDED = ("x-request-id", "traceparent", "tracestate")


@dataclass(frozen=True, slots=True)
class GatewayDeps:
    """What every exchange shares: built once by :class:`~plano_asgi.gateway.app.ModelGateway`."""

    client: httpx.AsyncClient
    pool: Http1Pool | None
    """Set when the gateway owns its client: provider calls use the lean HTTP/1.1 pool."""
    resolver: ModelResolver
    endpoints: dict[str, Endpoint | None]
    timeouts: dict[str, HopTimeouts]
    retry: RetryPolicy
    limiter: RateLimiter
    input_filters: FilterChain | None
    output_filters: FilterChain | None
    max_body_bytes: int
    tracer: Tracer | None = None
    listener: str = "llm"
    """The model listener's name (spans, metrics and the access log)."""
    tracing: Tracing | None = None
    """``config.tracing``: custom span attributes."""
    metrics: PlanoMetrics | None = None
    """Where request and model metrics go (default: the process-wide set)."""
    filter_types: Mapping[str, str] = field(default_factory=dict)
    """Filter id -> ``http`` or ``mcp``, for filter span names."""


class Exchange:
    """One request on ``/v1/chat/completions`` (``api="openai"``) or ``/v1/messages``."""

    def __init__(self, deps: GatewayDeps, scope: Scope, receive: Receive, send: Send, api: Api):
        self.deps = deps
        self.receive = receive
        self._send = send
        self.finished = False
        """True once the last body message went out (a disconnect after it is no cancel)."""
        self.api = api
        self.path = route_path(scope)
        self.headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope.get("headers", ())
        }
        self.raw_headers = scope.get("headers", ())
        self.started = False
        self.stream = False
        self.status: int | None = None
        self.error: PlanoError | str | None = None
        self.trace = RequestTrace.start(
            scope,
            listener=deps.listener,
            request_id=self.headers.get("x-request-id") or uuid.uuid4().hex,
            tracing=deps.tracing,
            handler="llm_chat",
            service=SERVICE_LLM,
            component="gateway",
            tracer=deps.tracer,
            metrics=deps.metrics,
        )
        self.llm: LLMSpan | None = None
        self.call = FilterCall(
            self.path,
            {name: self.headers[name] for name in _FORWARDED if name in self.headers},
            self.headers.get("x-request-id"),
        )

    async def run(self) -> None:
        """Serve the request to the end; errors become responses here and nowhere else."""
        try:
            await self._run()
        finally:
            if self.llm is not None:
                self.llm.end(status=self.status, error=self.error)
            self.trace.end(status=self.status or 0, error=self.error)

    async def _run(self) -> None:
        try:
            raw = await read_body(self.receive, self.deps.max_body_bytes)
            try:
                body = json.loads(raw)
            except ValueError:
                raise RequestError("The request body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise RequestError("The request body must be a JSON object.")
            self.stream = bool(body.get("stream"))
            model = body.get("model")
            with self.trace.model_routing() as routing:  # Plano's ``routing`` span
                targets = self.deps.resolver.resolve(model)
                chosen = targets[0].name
                routing.resolved(
                    str(model or "default"),
                    alias_resolved=(
                        ",".join(t.name for t in targets) if model and model != chosen else None
                    ),
                    selected=chosen,
                )
            temperature = body.get("temperature")
            self.llm = self.trace.start_llm(
                str(model or "default"),
                path=self.path,
                stream=self.stream,
                temperature=temperature if isinstance(temperature, int | float) else None,
            )
            # llm.provider is the provider family (``openai``), as Plano reports it.
            self.llm.resolved(targets[0].name, targets[0].provider.prefix)
            original: bytes | None = raw
            if self.deps.input_filters:
                # One span per filter call; each filter hop carries its span's context.
                chain = FilterChain(
                    self.trace.traced_filters(
                        self.deps.input_filters.filters, types=self.deps.filter_types
                    )
                )
                body = await chain.run(body, self.call)
                original = None
        except ClientDisconnectedError:
            self.trace.server.set("plano.client_disconnected", True)
            return
        except PlanoError as exc:
            await self._fail(exc)
            return
        async with anyio.create_task_group() as group:
            group.start_soon(self._watch_disconnect, group.cancel_scope)
            try:
                await self._serve(targets, body, original)
            except PlanoError as exc:
                await self._fail(exc)
            except Exception as exc:
                logger.exception("gateway request failed unexpectedly")
                await self._fail(
                    UpstreamError(
                        f"Internal gateway error: {type(exc).__name__}",
                        hop="gateway",
                        target="gateway",
                    )
                )
            finally:
                group.cancel_scope.cancel()

    async def _watch_disconnect(self, scope: anyio.CancelScope) -> None:
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                if not self.finished:  # servers also report a completed response this way
                    logger.info("client disconnected; cancelling the provider call")
                    self.trace.server.set("plano.client_disconnected", True)
                    if self.llm is not None:
                        self.llm.set("plano.cancelled", True)
                scope.cancel()
                return

    async def send(self, message: Message) -> None:
        """Send to the client, noting when the response is complete."""
        await self._send(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.finished = True

    # -- attempts -----------------------------------------------------------------------

    async def _serve(
        self, targets: tuple[Target, ...], body: dict[str, Any], raw: bytes | None
    ) -> None:
        policy = self.deps.retry
        retries = policy.retries_for(self.headers.get("x-envoy-max-retries"))
        last: Failure | None = None
        for position, target in enumerate(targets):
            if position:
                logger.warning(
                    "falling back from %s to %s", targets[position - 1].name, target.name
                )
                if self.llm is not None:
                    error = last.error if last is not None else None
                    self.llm.fallback(target.name, target.provider.prefix, error)
            if self.deps.limiter:
                try:
                    await self.deps.limiter.check(target.provider, self.headers, body)
                except RateLimitedError as exc:
                    last = Failure(exc, retry=False, fall_back=True)
                    continue
            try:
                call = self._prepare(target, body, raw)
            except UpstreamError as exc:  # no endpoint known, or no key: not called
                last = Failure(exc, retry=False, fall_back=True)
                continue
            for attempt in range(retries + 1):
                if attempt and last is not None:
                    wait = policy.backoff(attempt, last.retry_after)
                    logger.info("retrying %s in %.3fs (attempt %d)", target.name, wait, attempt + 1)
                    if self.llm is not None:
                        upstream = getattr(last.error, "upstream_status", None)
                        self.llm.retry(last.error, status=upstream)
                    await anyio.sleep(wait)
                failure = await self._attempt(call)
                if failure is None:
                    return
                last = failure
                logger.warning(
                    "provider %s attempt %d failed: %s",
                    target.name,
                    attempt + 1,
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

    def _prepare(self, target: Target, body: dict[str, Any], raw: bytes | None) -> ProviderCall:
        provider = target.provider
        endpoint = self.deps.endpoints.get(provider.display_name)
        if endpoint is None:
            raise UpstreamError(
                f"Provider '{target.name}' has no known endpoint; give it a base_url.",
                hop="provider",
                target=target.name,
            )
        if endpoint.api == self.api:
            if raw is not None and body.get("model") == target.model:
                content = raw
            else:
                content = dumps({**body, "model": target.model})
        elif self.api == "openai":
            content = dumps(openai_to_anthropic_request(body, target.model))
        else:
            content = dumps(anthropic_to_openai_request(body, target.model))
        headers, secret = auth_headers(provider, endpoint, self.headers)
        if not secret and needs_key(provider, endpoint):
            raise missing_key(provider, target.name)
        if provider.http_host:
            headers["host"] = provider.http_host  # Host and SNI override
        headers["content-type"] = "application/json"
        headers["accept-encoding"] = "identity"
        if self.stream:
            headers["accept"] = "text/event-stream"
        if "x-request-id" in self.headers:
            headers["x-request-id"] = self.headers["x-request-id"]
        context = self.llm.context if self.llm is not None else self.trace.context
        inject_headers(headers, context, incoming=self.headers)
        return ProviderCall(
            target,
            endpoint.api,
            endpoint.url(target.model),
            headers,
            content,
            self.deps.timeouts[provider.display_name],
            secret,
        )

    async def _attempt(self, call: ProviderCall) -> Failure | None:
        t = call.timeouts
        # httpx's per-read timeout is max(first_byte, idle); an explicit idle deadline is
        # needed only when idle is the shorter one.
        timeout = httpx.Timeout(
            connect=t.connect, read=max(t.first_byte, t.idle), write=t.connect, pool=t.connect
        )
        response: UpstreamResponse | None = None
        phase = "waiting for the first byte"
        try:
            with anyio.fail_after(t.connect + t.first_byte):
                if self.deps.pool is not None:
                    response = await self.deps.pool.post(
                        call.url,
                        call.headers,
                        call.content,
                        connect_timeout=t.connect,
                        first_byte_timeout=t.first_byte,
                    )
                else:
                    request = self.deps.client.build_request(
                        "POST",
                        call.url,
                        headers=call.headers,
                        content=call.content,
                        timeout=timeout,
                        extensions=_sni(call.headers),
                    )
                    response = await self.deps.client.send(request, stream=True)
                chunks = response.aiter_raw()
                if response.status_code >= 400:
                    raw = await read_error_body(response, t)
                    return classify_status(
                        response, raw, target=call.target.name, secret=call.secret
                    )
                deadline = getattr(response, "first_byte_deadline", math.inf)
                with anyio.fail_at(deadline):
                    first = await next_chunk(chunks, None)
            phase = "reading the response"
            if self.stream:
                return await relay_stream(self, call, response, chunks, first)
            return await relay_body(self, call, response, chunks, first)
        except (httpx.TransportError, TimeoutError) as exc:
            return transport_failure(exc, target=call.target.name, phase=phase)
        finally:
            if response is not None:
                # Shielded: on client disconnect this runs cancelled and must still close.
                with anyio.CancelScope(shield=True):
                    await response.aclose()

    # -- errors -------------------------------------------------------------------------

    async def end_in_band(self, message: str) -> None:
        logger.warning("stream ended with an error: %s", message)
        self.error = message
        body = in_band_error(self.api, message)
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def _fail(self, exc: PlanoError) -> None:
        if self.started:
            await self.end_in_band(exc.message)
            return
        logger.info("request failed with %d: %s", exc.status_code, exc.message)
        self.status = exc.status_code
        self.error = exc
        body = exc.to_dict()
        if self.api == "anthropic":
            body = anthropic_error(exc.status_code, body)
        await send_json(self.send, exc.status_code, body, exc.headers())


def _sni(headers: dict[str, str]) -> dict[str, Any] | None:
    # httpx sends a ``host`` header as given; the TLS name must follow it.
    host = headers.get("host")
    return {"sni_hostname": host.rsplit(":", 1)[0]} if host else None
