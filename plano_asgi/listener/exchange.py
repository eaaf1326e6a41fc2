"""One chat turn on an agent listener: everything per request lives on an :class:`_Exchange`.

Order of work: read and validate the body (the only buffering), run the listener's input
filters, route, then run the selected agents in order. Their replies are read as events
(:mod:`~plano_asgi.listener.reading`, which refuses incomplete ones) and reach the client in
the shape it asked for (:mod:`~plano_asgi.listener.answer`): the last agent's, or every
agent's with listener ``answers: all``. The listener's ``timeout`` bounds the turn until
the answer starts (504 naming the hop in progress). Once the body is read, a watcher races
the work and cancels it the moment the client disconnects (we never rely on ``send``
failing), which closes the open agent request at once: the race and the error edge are
:class:`~plano_asgi.exchange.BaseExchange`'s.

Errors become the OpenAI envelope with a real status while nothing has been sent. After the
stream started, an event stream ends with one ``data: {"error": ...}`` event and no
``[DONE]``, so OpenAI clients raise instead of returning a truncated answer as complete.

The client's API (:mod:`~plano_asgi.listener.client_api`: chat, Responses, Anthropic
Messages) only decides how the body is read, how the answer is shaped and how errors look
(``response.failed``, ``event: error``); the turn is the same for all of them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from collections.abc import Sequence
from typing import Any

import anyio
from opentelemetry.context import Context
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from plano_asgi._asgi import client_credential, read_body, request_headers
from plano_asgi.chat import ChatMessage, ChatRequest, chat_completion
from plano_asgi.chunks import ChunkGatherer, completion_chunks
from plano_asgi.errors import PlanoError, RequestError, UpstreamError, UpstreamTimeoutError
from plano_asgi.exchange import BaseExchange
from plano_asgi.filters.base import FilterCall
from plano_asgi.filters.chain import FilterChain
from plano_asgi.listener.agent_api import agent_body, agent_events
from plano_asgi.listener.answer import Answer
from plano_asgi.listener.capabilities import LISTENER_ANSWER, capabilities_reply
from plano_asgi.listener.chaining import insert_reply
from plano_asgi.listener.client_api import ChatApi, ClientApi
from plano_asgi.listener.headers import client_headers, header_value, request_id
from plano_asgi.listener.reading import AgentEvent
from plano_asgi.listener.runtime import ListenerRuntime
from plano_asgi.listener.selection import Selection
from plano_asgi.listener.transport import AGENT_PATH, open_agent
from plano_asgi.redaction import redacting
from plano_asgi.telemetry.propagation import inject_headers, new_traceparent, valid_traceparent
from plano_asgi.telemetry.request import RequestTrace

__all__: list[str] = []

logger = logging.getLogger("plano_asgi.listener")


class _Exchange(BaseExchange):
    """The state of one request; never shared, never stored on the middleware."""

    logger = logging.getLogger("plano_asgi.listener")
    unexpected_message = "The listener failed unexpectedly; see its logs."

    def __init__(
        self,
        runtime: ListenerRuntime,
        scope: Scope,
        receive: Receive,
        send: Send,
        path: str | None = None,
        api: ClientApi | None = None,
    ):
        """``path`` is the routed path when the caller has computed it (it is, once);
        ``api`` the client's API (default: chat completions)."""
        super().__init__(scope, receive, send)
        self.runtime = runtime
        self.api: ClientApi = api or ChatApi()
        """The client's API: how its body is read and its answer and errors are shaped."""
        self.answer: Answer | None = None
        raw = list(scope.get("headers", ()))
        self.request_id = request_id(raw)
        self.forwarded = client_headers(raw, runtime.listener.forward_headers)
        self.redactor = runtime.redactor.with_secret(client_credential(request_headers(scope)))
        """The config's keys and the client's own: never in an answer, an error or a log."""
        self.trace_in = {
            k.decode("latin-1").lower(): v.decode("latin-1")
            for k, v in raw
            if k.lower() in (b"traceparent", b"tracestate")
        }
        if not valid_traceparent(self.trace_in.get("traceparent", "")):
            # No client trace: agents and filters still share one (when no SDK records).
            self.trace_in = {"traceparent": new_traceparent()}
        self.rt = RequestTrace.start(
            scope,
            listener=runtime.listener.name,
            request_id=self.request_id,
            tracing=runtime.tracing,
            path=path,
            tracer=runtime.tracer,
            metrics=runtime.metrics,
        )
        self.ours: dict[str, str] = {"x-request-id": self.request_id}
        self.turn_scope: anyio.CancelScope | None = None
        self.hop: tuple[str, str] = ("listener", runtime.listener.name)
        """The hop the turn is waiting for (named when the listener's timeout runs out)."""

    async def run(self) -> None:
        """Serve the request to the end (or until the client leaves)."""
        try:
            with redacting(self.redactor):
                await self.guard(self._serve)
        finally:
            # After the last byte (or the client leaving): the server span, the request
            # metrics and the one log line of this request.
            if self.client_left and not self.finished:
                self.rt.server.set("plano.client_disconnected", True)
            self.rt.end(status=self.status, error=self.error)

    async def _serve(self) -> None:
        body = await read_body(self.receive, self.runtime.listener.max_body_bytes)
        request = await self.api.parse(body)
        # From here the client leaving cancels the turn, and with it the open agent request.
        await self.race(functools.partial(self._turn, request))

    def log_error(self, error: PlanoError) -> None:
        where = f" at {error.hop} '{error.target}'" if isinstance(error, UpstreamError) else ""
        level = logging.INFO if isinstance(error, RequestError) else logging.WARNING
        self.logger.log(level, "request %s failed%s: %s", self.request_id, where, error.message)

    def response_headers(self) -> dict[str, str]:
        return self.ours

    def error_body(self, error: PlanoError) -> dict[str, Any]:
        body: dict[str, Any] = self.redactor.json(self.api.error_body(error))
        return body

    def in_band_error(self, error: PlanoError) -> bytes:
        if self.answer is not None:
            return self.redactor.body(self.answer.error_event(error))
        return self.redactor.body(super().in_band_error(error))

    # -- the turn ---------------------------------------------------------------------

    async def _turn(self, request: ChatRequest) -> None:
        # The listener's ``timeout`` bounds everything up to the answering agent's first
        # event: filters, routing, earlier agents, the agent's headers. It is lifted then;
        # the stream itself is bounded by the agent's idle and total timeouts.
        timeout = self.runtime.listener.timeout
        with anyio.CancelScope(deadline=anyio.current_time() + timeout) as turn:
            self.turn_scope = turn
            await self._agents(request)
        if turn.cancelled_caught:
            kind, target = self.hop
            raise UpstreamTimeoutError(
                f"The listener's timeout of {timeout:g}s ran out before an answer started "
                f"(waiting for {kind} '{target}').",
                hop=kind,
                target=target,
            )

    async def _agents(self, request: ChatRequest) -> None:
        listener = self.runtime.listener
        messages = [message.to_wire() for message in request.messages]
        routed: Sequence[ChatMessage] = request.messages
        if listener.input_filters:
            messages = await self._filter(listener.input_filters, request, messages)
            routed = [ChatMessage.model_validate(message) for message in messages]
        routers = self.runtime.selector.routers
        self.hop = ("router", routers[0].name if routers else "default")
        selection = await self._select(routed)
        logger.debug(
            "request %s: agents %s chosen by %s%s",
            self.request_id,
            ",".join(selection.agents),
            selection.router,
            f" (fallback: {selection.fallback})" if selection.fallback else "",
        )
        if selection.agents:
            self.ours["x-plano-agents"] = header_value(",".join(selection.agents), 1000)
        self.ours["x-plano-router"] = selection.router
        if selection.confidence is not None:
            self.ours["x-plano-route-confidence"] = f"{selection.confidence:.3f}"
        if selection.fallback:
            self.ours["x-plano-route-fallback"] = header_value(selection.fallback, 500)
        by_id = {agent.id: agent for agent in listener.agents}
        wire = request.to_wire()
        every = listener.answers == "all"
        mark = every and len(selection.agents) > 1
        answer = self.api.answer(request, self.start, self.body, self.ours, mark=mark)
        self.answer = answer
        headers: list[tuple[str, str]] = []
        if not selection.agents:
            await self._answer_itself(answer, request)
            return
        for position, agent_id in enumerate(selection.agents):
            final = position == len(selection.agents) - 1
            agent_messages = messages
            chain_ids = by_id[agent_id].input_filters
            if chain_ids:
                agent_messages = await self._filter(chain_ids, request, messages, agent_id=agent_id)
            body = agent_body(self.runtime.targets[agent_id], {**wire, "messages": agent_messages})
            self.hop = ("agent", agent_id)
            text, headers = await self._call_agent(
                agent_id,
                body,
                len(agent_messages),
                answer=answer if final or every else None,
                final=final,
            )
            if not final:
                messages = insert_reply(messages, agent_id, text)
        await answer.finish(headers)

    async def _answer_itself(self, answer: Answer, request: ChatRequest) -> None:
        """No agent fits the turn and none is the default: say what the agents can do."""
        self._answering()
        text = capabilities_reply(self.runtime.listener)
        completion = chat_completion(content=text, model=request.model or LISTENER_ANSWER)
        for chunk in completion_chunks(completion):
            await answer.add(LISTENER_ANSWER, AgentEvent(chunk=chunk), final=True, headers=[])
        await answer.finish([])

    async def _select(self, messages: Sequence[ChatMessage]) -> Selection:
        # The routing span is the current context inside this block, so a router that
        # calls a model (the orchestrator) carries it as the parent of its call.
        with self.rt.routing() as routing:
            selection = await self.runtime.selector.select(messages)
            for router, error_type in selection.failures:
                routing.event("router_failed", {"router": router, "error.type": error_type})
            routing.decided(selection, elapsed_ms=selection.elapsed_ms)
        return selection

    def _hop_headers(self, context: Context) -> dict[str, str]:
        headers = dict(self.forwarded)
        headers["x-request-id"] = self.request_id
        inject_headers(headers, context, incoming=self.trace_in)
        return headers

    async def _filter(
        self,
        ids: Sequence[str],
        request: ChatRequest,
        messages: list[dict[str, Any]],
        *,
        agent_id: str | None = None,
    ) -> list[dict[str, Any]]:
        filters = self.runtime.filters
        if filters is None:
            raise PlanoError("Filters are configured but no filter registry is available.")
        # Each filter call gets its own span, and its hop that span's trace context.
        chain = FilterChain(
            self.rt.traced_filters(
                filters.chain(ids).filters, types=self.runtime.filter_types, agent_id=agent_id
            )
        )
        self.hop = ("filter", ",".join(ids))
        call = FilterCall(AGENT_PATH, self._hop_headers(self.rt.context), self.request_id)
        payload = {"model": request.model or "", "messages": messages}
        result = await chain.run(payload, call)
        out = result.get("messages")
        try:
            if not isinstance(out, list):
                raise ValueError("no messages")
            return [ChatMessage.model_validate(message).to_wire() for message in out]
        except (ValueError, ValidationError):
            raise UpstreamError(
                f"Filter chain {','.join(ids)} returned no valid 'messages'.",
                hop="filter",
                target=",".join(ids),
            ) from None

    async def _call_agent(
        self, agent_id: str, body: bytes, count: int, *, answer: Answer | None, final: bool
    ) -> tuple[str, list[tuple[str, str]]]:
        """Run one agent; its events go to ``answer`` (when visible), its text is returned."""
        target = self.runtime.targets[agent_id]
        span = self.rt.start_agent(agent_id, message_count=count, url=target.endpoint)
        headers = self._hop_headers(span.context)
        headers.update(
            {
                "x-arch-upstream": agent_id,
                "x-arch-agent-listener-name": self.runtime.listener.name,
                "content-type": "application/json",
                "accept-encoding": "identity",
            }
        )
        headers.setdefault("accept", "application/json, text/event-stream")
        status: int | None = None
        text = ChunkGatherer(id="", model=agent_id)
        try:
            async with open_agent(
                target, body, headers, client=self.runtime.client, redactor=self.redactor
            ) as reply:
                status = reply.status
                async with contextlib.aclosing(agent_events(target, reply)) as events:
                    async for event in events:
                        if event.chunk is not None and not final:
                            text.add(event.chunk)
                        if answer is None:
                            continue
                        self._answering()
                        await answer.add(agent_id, event, final=final, headers=reply.headers)
                return text.text, reply.headers
        except Exception as exc:
            span.end(status=status, error=exc)
            raise
        except BaseException:  # cancelled: the client left, or the request was cut short
            span.set("plano.cancelled", True)
            raise
        finally:
            # After the agent's last byte reached the client (a visible agent streams).
            span.end(status=status)

    def _answering(self) -> None:
        """The answer has started: the turn's first-byte timeout no longer applies."""
        if self.turn_scope is not None and self.turn_scope.deadline != math.inf:
            self.turn_scope.deadline = math.inf
            self.rt.first_byte()
