"""One chat request served by an Agent: read, parse, run the handler, answer, clean up.

All per-request state lives on :class:`_Exchange`, never on the Agent. The order is the
one STYLE §3.8 asks for: read the whole (small) request body first, then race the response
pump against a watcher on ``receive()`` in one task group, so a client that goes away
cancels the handler (and with it any upstream LLM stream) instead of letting it spend
tokens into the void. Errors become the OpenAI envelope while nothing has been sent, and
one in-band ``data: {"error": ...}`` event (no ``[DONE]``) once a stream has started.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import openai
from opentelemetry import context as otel_context, trace
from starlette.types import Message, Receive, Scope, Send

from plano_agent_sdk.context import Context, _current, build_context
from plano_agent_sdk.errors import AgentError
from plano_agent_sdk.request import AgentRequest, parse_agent_request
from plano_agent_sdk.streaming import HandlerResult, to_chunks, to_completion
from plano_asgi._asgi import ClientDisconnectedError, read_body, send_error, send_json
from plano_asgi.chat import completion_id
from plano_asgi.errors import PlanoError, UpstreamError, UpstreamTimeoutError
from plano_asgi.sse import DONE, SSE_HEADERS, encode_data, encode_json
from plano_asgi.telemetry.attributes import SERVICE_AGENT, SERVICE_OVERRIDE
from plano_asgi.telemetry.propagation import extract_context

if TYPE_CHECKING:
    from plano_agent_sdk.agent import Agent, _Registration

logger = logging.getLogger("plano_agent_sdk")


class _ClientGoneError(Exception):
    """``send`` failed because the client is gone (ASGI >= 2.4 servers raise OSError)."""


class _Exchange:
    def __init__(self, agent: Agent, scope: Scope, receive: Receive, send: Send) -> None:
        self.agent = agent
        self.scope = scope
        self.receive = receive
        self.raw_send = send
        self.started = False
        self.finished = False
        self.disconnected = False
        self.request_id = ""
        self.status: int | None = None

    async def send(self, message: Message) -> None:
        try:
            await self.raw_send(message)
        except OSError:
            self.disconnected = True
            raise _ClientGoneError from None
        if message["type"] == "http.response.start":
            self.started = True
            self.status = int(message["status"])
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.finished = True

    async def run(self, registration: _Registration | None) -> None:
        try:
            body = await read_body(self.receive, self.agent.max_body_bytes)
            request = parse_agent_request(body)
        except ClientDisconnectedError:
            return
        except PlanoError as exc:
            await send_error(self.raw_send, exc)
            return
        headers = self.scope.get("headers", [])
        ctx = build_context(self.agent.name, headers, self.agent.llm)
        self.request_id = ctx.request_id
        # The caller's span (the listener's agent span) is the parent: one trace per turn.
        parent = extract_context(headers)
        span = self.agent.tracer.start_span(
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
        # Set in this task before the task group starts: the watcher (and any task the
        # handler starts) copies the context, so every one of them sees this request.
        token = _current.set(ctx)
        # The parent context keeps the caller's baggage for the gateway calls of ctx.llm.
        otel_token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            async with anyio.create_task_group() as group:
                watcher_done = False

                async def watch() -> None:
                    nonlocal watcher_done
                    while (await self.receive())["type"] != "http.disconnect":
                        pass
                    watcher_done = True
                    if self.finished:
                        return  # servers report a completed response as a disconnect
                    self.disconnected = True
                    logger.info(
                        "agent %s: client disconnected (request_id=%s)",
                        self.agent.name,
                        ctx.request_id,
                    )
                    group.cancel_scope.cancel()

                group.start_soon(watch)
                # The pump runs in this task; a disconnect cancels it through the group.
                await self._respond(registration, request, ctx)
                if not watcher_done:
                    # One checkpoint lets the watcher see the server's post-response
                    # disconnect, which is cheaper than cancelling it.
                    await anyio.lowlevel.checkpoint()
                if not watcher_done:
                    group.cancel_scope.cancel()
        finally:
            otel_context.detach(otel_token)
            _current.reset(token)
            span.set_attribute("agent.disconnected", self.disconnected)
            if self.status is not None:
                span.set_attribute("http.status_code", self.status)
            span.end()  # after the last byte, or the client leaving

    async def _respond(
        self, registration: _Registration | None, request: AgentRequest, ctx: Context
    ) -> None:
        timeout = registration.timeout if registration is not None else None
        failure: PlanoError | None = None
        with anyio.move_on_after(math.inf if timeout is None else timeout) as deadline:
            try:
                if registration is None:
                    raise RuntimeError(f"agent {self.agent.name!r} has no @agent.handler")
                result = await self._invoke(registration, request, ctx)
                if request.stream:
                    await self._stream(result, request)
                else:
                    completion = await to_completion(
                        result, id=completion_id(), model=request.model or self.agent.name
                    )
                    await send_json(self.send, 200, completion, self._headers())
                return
            except _ClientGoneError:
                return
            except openai.APITimeoutError:
                failure = UpstreamTimeoutError(
                    "The model gateway did not answer in time.", hop="provider", target="gateway"
                )
            except openai.APIError as exc:
                logger.warning(
                    "agent %s: gateway call failed: %s (request_id=%s)",
                    self.agent.name,
                    type(exc).__name__,
                    ctx.request_id,
                )
                failure = UpstreamError(
                    "The model gateway call failed.",
                    hop="provider",
                    target="gateway",
                    upstream_status=getattr(exc, "status_code", None),
                )
            except PlanoError as exc:
                logger.info(
                    "agent %s: handler raised %s (status %d, request_id=%s)",
                    self.agent.name,
                    type(exc).__name__,
                    exc.status_code,
                    ctx.request_id,
                )
                failure = exc
            except Exception as exc:
                inner = _collapse(exc)
                if isinstance(inner, PlanoError):  # raised inside the handler's own task group
                    failure = inner
                else:
                    logger.exception(
                        "agent %s: handler failed (request_id=%s)", self.agent.name, ctx.request_id
                    )
                    failure = PlanoError("The agent failed to answer this request.")
        if deadline.cancelled_caught:
            logger.warning(
                "agent %s: handler timed out after %ss (request_id=%s)",
                self.agent.name,
                timeout,
                ctx.request_id,
            )
            failure = AgentError(
                504, f"The agent did not answer within {timeout} seconds.", code="agent_timeout"
            )
        if failure is not None:
            await self._fail(failure)

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
            start = {"type": "http.response.start", "status": 200, "headers": self._sse_headers()}
            await self.send(start)
            await self.send(
                {"type": "http.response.body", "body": encode_json(first), "more_body": True}
            )
            async for chunk in chunks:
                await self.send(
                    {"type": "http.response.body", "body": encode_json(chunk), "more_body": True}
                )
            await self.send(
                {"type": "http.response.body", "body": encode_data(DONE), "more_body": False}
            )
        finally:
            with anyio.CancelScope(shield=True):
                await chunks.aclose()

    async def _fail(self, error: PlanoError) -> None:
        span = trace.get_current_span()  # this request's span: attached in run()
        span.set_status(trace.StatusCode.ERROR, type(error).__name__)
        span.set_attribute("http.status_code", error.status_code)
        span.set_attribute("agent.error_in_stream", self.started)
        try:
            if not self.started:
                await send_error(self.send, error, self._headers())
            elif not self.finished:
                await self.send(
                    {
                        "type": "http.response.body",
                        "body": encode_json(error.to_dict()),
                        "more_body": False,
                    }
                )
        except _ClientGoneError:
            return

    def _headers(self) -> dict[str, str]:
        return {"x-request-id": self.request_id}

    def _sse_headers(self) -> list[tuple[bytes, bytes]]:
        return [*SSE_HEADERS, (b"x-request-id", self.request_id.encode("latin-1"))]


def _collapse(exc: BaseException) -> BaseException:
    """The single exception inside (nested) one-member exception groups, else ``exc``."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
