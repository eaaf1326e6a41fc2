"""One chat request served by an Agent: read, parse, run the handler, answer, clean up.

All per-request state lives on :class:`_Exchange`, never on the Agent. The order is the
one STYLE §3.8 asks for: read the whole (small) request body first, then race the response
pump against a watcher on ``receive()`` (:meth:`~plano_asgi.exchange.BaseExchange.race`),
so a client that goes away cancels the handler (and with it any upstream LLM stream)
instead of letting it spend tokens into the void. Errors become the OpenAI envelope while
nothing has been sent, and one in-band ``data: {"error": ...}`` event (no ``[DONE]``) once a
stream has started (:class:`~plano_asgi.exchange.BaseExchange`'s error edge). Here: the
handler's timeout, and the gateway's failures named as the hop they are.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import TYPE_CHECKING, Any

import anyio
import openai
from opentelemetry import context as otel_context, trace
from starlette.types import Receive, Scope, Send

from plano_agent_sdk.context import Context, _current, build_context
from plano_agent_sdk.errors import AgentError
from plano_agent_sdk.request import AgentRequest, parse_agent_request
from plano_agent_sdk.streaming import HandlerResult, to_chunks, to_completion
from plano_asgi._asgi import read_body, send_json
from plano_asgi.chat import completion_id
from plano_asgi.errors import PlanoError, UpstreamError, UpstreamTimeoutError
from plano_asgi.exchange import BaseExchange
from plano_asgi.sse import DONE, SSE_HEADERS, encode_data, encode_json
from plano_asgi.telemetry.attributes import SERVICE_AGENT, SERVICE_OVERRIDE
from plano_asgi.telemetry.propagation import extract_context

if TYPE_CHECKING:
    from plano_agent_sdk.agent import Agent, _Registration


class _Exchange(BaseExchange):
    """One request to an :class:`~plano_agent_sdk.agent.Agent` (the SDK's side of the edge)."""

    logger = logging.getLogger("plano_agent_sdk")
    unexpected_message = "The agent failed to answer this request."

    def __init__(self, agent: Agent, scope: Scope, receive: Receive, send: Send) -> None:
        super().__init__(scope, receive, send)
        self.agent = agent
        self._span: trace.Span | None = None

    async def run(self, registration: _Registration | None) -> None:
        """Serve the request to the end; errors become responses at the edge."""
        await self.guard(functools.partial(self._serve, registration))

    async def _serve(self, registration: _Registration | None) -> None:
        body = await read_body(self.receive, self.agent.max_body_bytes)
        request = parse_agent_request(body)
        headers = self.scope.get("headers", [])
        ctx = build_context(self.agent.name, headers, self.agent.llm)
        self.request_id = ctx.request_id
        # The caller's span (the listener's agent span) is the parent: one trace per turn.
        parent = extract_context(headers)
        span = self._span = self.agent.tracer.start_span(
            f"{self.agent.name} /v1/chat/completions",
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes={
                SERVICE_OVERRIDE: SERVICE_AGENT,
                "agent.name": self.agent.name,
                "agent_id": self.agent.name,
                "request_id": ctx.request_id,
                "http.method": "POST",
                "llm.stream": bool(request.stream),
                "message_count": len(request.messages),
            },
        )
        # Set in this task before the race starts: the watcher (and any task the handler
        # starts) copies the context, so every one of them sees this request.
        token = _current.set(ctx)
        # The parent context keeps the caller's baggage for the gateway calls of ctx.llm.
        otel_token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            # The pump runs in this task; a disconnect cancels it through the race.
            await self.race(functools.partial(self._respond, registration, request, ctx))
        finally:
            otel_context.detach(otel_token)
            _current.reset(token)
            span.set_attribute("agent.disconnected", self.client_left)
            if self.status:
                span.set_attribute("http.status_code", self.status)
            span.end()  # after the last byte, or the client leaving

    async def _respond(
        self, registration: _Registration | None, request: AgentRequest, ctx: Context
    ) -> None:
        timeout = registration.timeout if registration is not None else None
        with anyio.move_on_after(math.inf if timeout is None else timeout) as deadline:
            failure = await self.capture(
                functools.partial(self._answer, registration, request, ctx)
            )
        if deadline.cancelled_caught:
            self.logger.warning(
                "agent %s: handler timed out after %ss (request_id=%s)",
                self.agent.name,
                timeout,
                ctx.request_id,
            )
            failure = AgentError(
                504, f"The agent did not answer within {timeout} seconds.", code="agent_timeout"
            )
        if failure is not None:
            await self.fail(failure)

    async def _answer(
        self, registration: _Registration | None, request: AgentRequest, ctx: Context
    ) -> None:
        if registration is None:
            raise RuntimeError(f"agent {self.agent.name!r} has no @agent.handler")
        result = await self._invoke(registration, request, ctx)
        if request.stream:
            await self._stream(result, request)
        else:
            completion = await to_completion(
                result, id=completion_id(), model=request.model or self.agent.name
            )
            await send_json(self.send, 200, completion, self.response_headers())

    def expected(self, exc: Exception) -> PlanoError | None:
        """The gateway calls of ``ctx.llm`` failing: a hop error, not a bug of the agent."""
        if isinstance(exc, openai.APITimeoutError):
            return UpstreamTimeoutError(
                "The model gateway did not answer in time.", hop="provider", target="gateway"
            )
        if isinstance(exc, openai.APIError):
            self.logger.warning(
                "agent %s: gateway call failed: %s (request_id=%s)",
                self.agent.name,
                type(exc).__name__,
                self.request_id,
            )
            return UpstreamError(
                "The model gateway call failed.",
                hop="provider",
                target="gateway",
                upstream_status=getattr(exc, "status_code", None),
            )
        return None

    def log_error(self, error: PlanoError) -> None:
        if self._span is None:  # the request itself was refused: the client's to fix
            self.logger.debug("agent %s: request refused: %s", self.agent.name, error.message)
            return
        self.logger.info(
            "agent %s: handler raised %s (status %d, request_id=%s)",
            self.agent.name,
            type(error).__name__,
            error.status_code,
            self.request_id,
        )

    def on_disconnect(self) -> None:
        self.logger.info(
            "agent %s: client disconnected (request_id=%s)", self.agent.name, self.request_id
        )

    def response_headers(self) -> dict[str, str]:
        return {"x-request-id": self.request_id} if self.request_id else {}

    async def _invoke(
        self, registration: _Registration, request: AgentRequest, ctx: Context
    ) -> HandlerResult:
        if registration.is_generator:
            result: Any = registration.func(request, ctx)
        else:
            result = await registration.func(request, ctx)
        if result is None:
            raise TypeError("the handler returned None; return text, a completion or a stream")
        return result  # type: ignore[no-any-return]

    async def _stream(self, result: HandlerResult, request: AgentRequest) -> None:
        chunks = to_chunks(result, id=completion_id(), model=request.model or self.agent.name)
        try:
            # Pull the first chunk before sending headers: a handler that fails before
            # producing anything still gets a proper HTTP status.
            first = await chunks.__anext__()
            await self.start(200, self._sse_headers())
            await self.body(encode_json(first), True)
            async for chunk in chunks:
                await self.body(encode_json(chunk), True)
            await self.body(encode_data(DONE), False)
        finally:
            with anyio.CancelScope(shield=True):
                await chunks.aclose()

    async def fail(self, error: PlanoError) -> None:
        span = self._span  # None while the request is read: no span yet
        if span is not None:
            span.set_status(trace.StatusCode.ERROR, type(error).__name__)
            span.set_attribute("http.status_code", error.status_code)
            span.set_attribute("agent.error_in_stream", self.started)
        await super().fail(error)

    def _sse_headers(self) -> list[tuple[bytes, bytes]]:
        return [*SSE_HEADERS, (b"x-request-id", self.request_id.encode("latin-1"))]
