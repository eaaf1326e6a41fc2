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

The provider side lives beside it: :mod:`~plano_asgi.gateway.attempts` (retries and
fallbacks), :mod:`~plano_asgi.gateway.outbound` (each provider request) and
:mod:`~plano_asgi.gateway.relay` (the answer back to the client).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from plano_asgi._asgi import (
    client_credential,
    read_json_object,
    request_headers,
    sane_request_id,
)
from plano_asgi.errors import PlanoError
from plano_asgi.exchange import BaseExchange
from plano_asgi.filters.base import FilterCall
from plano_asgi.filters.chain import FilterChain
from plano_asgi.gateway.attempts import serve_targets
from plano_asgi.gateway.deps import GatewayDeps
from plano_asgi.gateway.preferences import (
    ModelChoice,
    ModelRoute,
    conversation,
    inline_routes,
    targets_for,
)
from plano_asgi.gateway.providers import Api
from plano_asgi.gateway.request_checks import check_request
from plano_asgi.gateway.resolution import Target
from plano_asgi.redaction import redacting
from plano_asgi.telemetry.attributes import SERVICE_LLM
from plano_asgi.telemetry.request import RequestTrace
from plano_asgi.telemetry.spans import LLMSpan
from plano_asgi.wire.anthropic import anthropic_error
from plano_asgi.wire.streams import in_band_error

__all__ = ["Exchange", "GatewayDeps"]

_FORWARDED = ("x-request-id", "traceparent", "tracestate")


class Exchange(BaseExchange):
    """One request on ``/v1/chat/completions`` (``api="openai"``) or ``/v1/messages``."""

    logger = logging.getLogger("plano_asgi.gateway")
    unexpected_message = "The gateway failed unexpectedly; see its logs."

    def __init__(
        self, deps: GatewayDeps, scope: Scope, receive: Receive, send: Send, api: Api, path: str
    ):
        """``path`` is the routed path (:func:`~plano_asgi._asgi.route_path`), computed once."""
        super().__init__(scope, receive, send)
        self.deps = deps
        self.api = api
        self.path = path
        self.headers = request_headers(scope)
        self.raw_headers = scope.get("headers", ())
        self.redactor = deps.redactor.with_secret(client_credential(self.headers))
        """The config's keys and the client's own: never in an answer, an error or a log."""
        self.stream = False
        self.trace = RequestTrace.start(
            scope,
            listener=deps.listener,
            request_id=sane_request_id(self.headers.get("x-request-id")),
            tracing=deps.tracing,
            handler="llm_chat",
            service=SERVICE_LLM,
            component="gateway",
            path=path,
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
        """Serve the request to the end; errors become responses at the edge and nowhere else."""
        try:
            with redacting(self.redactor):
                await self.guard(self._serve)
        finally:
            if self.client_left and not self.finished:
                self.trace.server.set("plano.client_disconnected", True)
            if self.llm is not None:
                self.llm.end(status=self.status or None, error=self.error)
            self.trace.end(status=self.status, error=self.error)

    async def _serve(self) -> None:
        targets, body, original = await self._prepare()
        # From here the client leaving cancels the provider call.
        await self.race(functools.partial(serve_targets, self, targets, body, original))

    async def _prepare(self) -> tuple[tuple[Target, ...], dict[str, Any], bytes | None]:
        """Read, check, resolve and filter the request: the targets, the body, the raw body
        (``None`` once a filter rewrote it)."""
        raw, body = await read_json_object(self.receive, self.deps.max_body_bytes)
        check_request(self.api, body)
        self.stream = body.get("stream") is True
        model = body.get("model")
        original: bytes | None = raw
        routes = None
        if "routing_preferences" in body:  # the request's own: not sent on
            routes = inline_routes(body.pop("routing_preferences"))
            original = None
        with self.trace.model_routing() as routing:  # Plano's ``routing`` span
            choice = await self._choose(body, routes)
            targets = targets_for(self.deps.resolver, model, choice)
            chosen = targets[0].name
            if choice is not None and choice.route is not None:
                routing.set("plano.route.name", choice.route)
                if choice.session_id is not None:
                    routing.set("plano.route.pinned", choice.pinned)
                    routing.set("plano.route.switched", choice.switched)
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
        if choice is not None and choice.route is not None:
            self.llm.set("plano.route.name", choice.route)
        if not self.deps.input_filters:
            return targets, body, original
        # One span per filter call; each filter hop carries its span's context.
        chain = FilterChain(
            self.trace.traced_filters(self.deps.input_filters.filters, types=self.deps.filter_types)
        )
        return targets, await chain.run(body, self.call), None

    async def _choose(
        self, body: dict[str, Any], routes: tuple[ModelRoute, ...] | None
    ) -> ModelChoice | None:
        """The routing preference of the request, when preferences apply to it."""
        preferences = self.deps.preferences
        if preferences is None or (routes is None and not preferences.routes):
            return None
        sessions = preferences.sessions
        session = sessions.session(self.headers, self.api, body) if sessions else None
        return await preferences.choose(conversation(self.api, body), routes, session=session)

    def outgoing(self, message: Message) -> Message:
        """Every response carries the request's ``x-request-id`` (the client's when sane, else
        fresh), the one the provider was sent; a provider's own id is kept as
        ``x-upstream-request-id``."""
        if message["type"] != "http.response.start":
            return message
        headers = [
            (b"x-upstream-request-id" if key.lower() == b"x-request-id" else key, value)
            for key, value in message.get("headers", ())
        ]
        headers.append((b"x-request-id", self.trace.request_id.encode("latin-1")))
        return {**message, "headers": headers}

    def on_disconnect(self) -> None:
        self.logger.info("client disconnected; cancelling the provider call")
        if self.llm is not None:
            self.llm.set("plano.cancelled", True)

    # -- errors -------------------------------------------------------------------------

    async def end_in_band(self, message: str) -> None:
        """End the open stream with one error event in the client's API (the relay's
        mid-stream failures)."""
        message = self.redactor.text(message)
        self.logger.warning("stream ended with an error: %s", message)
        if self.error is None:
            self.error = message
        await self.body(in_band_error(self.api, message), False)

    def log_error(self, error: PlanoError) -> None:
        if self.started:
            self.logger.warning("stream ended with an error: %s", error.message)
        else:
            super().log_error(error)

    def error_body(self, error: PlanoError) -> dict[str, Any]:
        body: dict[str, Any] = self.redactor.json(error.to_dict())
        return anthropic_error(error.status_code, body) if self.api == "anthropic" else body

    def in_band_error(self, error: PlanoError) -> bytes:
        return in_band_error(self.api, self.redactor.text(error.message))
