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

import json
import logging
from typing import Any

import anyio
from starlette.types import Message, Receive, Scope, Send

from plano_asgi._asgi import (
    ClientDisconnectedError,
    read_body,
    sane_request_id,
    send_json,
)
from plano_asgi.errors import PlanoError, RequestError, UpstreamError
from plano_asgi.filters.base import FilterCall
from plano_asgi.filters.chain import FilterChain
from plano_asgi.gateway.anthropic import anthropic_error
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
from plano_asgi.gateway.streams import in_band_error
from plano_asgi.telemetry.attributes import SERVICE_LLM
from plano_asgi.telemetry.request import RequestTrace
from plano_asgi.telemetry.spans import LLMSpan

__all__ = ["Exchange", "GatewayDeps"]

logger = logging.getLogger("plano_asgi.gateway")

_FORWARDED = ("x-request-id", "traceparent", "tracestate")


class Exchange:
    """One request on ``/v1/chat/completions`` (``api="openai"``) or ``/v1/messages``."""

    def __init__(
        self, deps: GatewayDeps, scope: Scope, receive: Receive, send: Send, api: Api, path: str
    ):
        """``path`` is the routed path (:func:`~plano_asgi._asgi.route_path`), computed once."""
        self.deps = deps
        self.receive = receive
        self._send = send
        self.finished = False
        """True once the last body message went out (a disconnect after it is no cancel)."""
        self.api = api
        self.path = path
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
            _check_fields(body)
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
                await serve_targets(self, targets, body, original)
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

    async def _choose(
        self, body: dict[str, Any], routes: tuple[ModelRoute, ...] | None
    ) -> ModelChoice | None:
        """The routing preference of the request, when preferences apply to it."""
        preferences = self.deps.preferences
        if preferences is None or (routes is None and not preferences.routes):
            return None
        return await preferences.choose(conversation(self.api, body), routes)

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
        """Send to the client, noting when the response is complete.

        Every response carries the request's ``x-request-id`` (the client's when sane, else
        fresh), the one the provider was sent; a provider's own id is kept as
        ``x-upstream-request-id``.
        """
        if message["type"] == "http.response.start":
            headers = [
                (b"x-upstream-request-id" if key.lower() == b"x-request-id" else key, value)
                for key, value in message.get("headers", ())
            ]
            headers.append((b"x-request-id", self.trace.request_id.encode("latin-1")))
            message = {**message, "headers": headers}
        await self._send(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.finished = True

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


def _check_fields(body: dict[str, object]) -> None:
    """Reject the fields the gateway acts on when they have the wrong JSON type, naming the
    field in the listener's words (:func:`~plano_asgi.chat.parse_chat_request`); every other
    field is the provider's to judge."""
    for name, kind, noun in (("stream", bool, "boolean"), ("model", str, "string")):
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            raise RequestError(
                f"Invalid request: {name}: Input should be a valid {noun}", param=name
            )
