"""One tool call as one listener turn, pinned to the tool's agent.

The turn goes through the listener's own :class:`~plano_asgi.listener.exchange._Exchange`
(listener filters, the agent's filter chain, the agent call, timeouts, spans, metrics and
the access log), driven in-process with a non-streaming chat request. Only the choice of
agent differs: a router that always answers the tool's agent replaces the listener's, so
no routing model runs and the routing span says ``agent_tool``.

Header policy is the listener's: the MCP request's headers are handed to the exchange as
the client's, which forwards them to filters and agents under ``forward_headers`` exactly
as for a chat request (credentials dropped unless listed). MCP transport headers
(``mcp-*``, ``accept``) are not the caller's and are left out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.types import Message, Scope

from plano_asgi._asgi import post_scope
from plano_asgi.chat import ChatMessage
from plano_asgi.listener.exchange import _Exchange
from plano_asgi.listener.runtime import ListenerRuntime
from plano_asgi.listener.selection import Selector
from plano_asgi.listener.transport import AGENT_PATH
from plano_asgi.routing.base import AgentCandidate, RouteDecision

__all__ = ["PINNED_ROUTER", "ToolAnswer", "pinned_runtime", "run_tool_turn"]

PINNED_ROUTER = "agent_tool"
"""The router name a tool call's routing span and ``x-plano-router`` carry."""

_TRANSPORT_ONLY = (b"accept", b"content-type", b"content-length", b"traceparent", b"tracestate")


@dataclass(frozen=True, slots=True)
class ToolAnswer:
    """What a tool call produced: the agent's answer, or an error naming the hop."""

    text: str
    error: bool = False
    status: int = 200


class _PinnedRouter:
    """Routes every turn to one agent (the tool that was called)."""

    def __init__(self, agent: str) -> None:
        self.name = PINNED_ROUTER
        self._agent = agent

    async def route(
        self, messages: Sequence[ChatMessage], agents: Sequence[AgentCandidate]
    ) -> RouteDecision:
        return RouteDecision(agents=(self._agent,), router=PINNED_ROUTER, reason="tool_call")


def pinned_runtime(runtime: ListenerRuntime, agent: str) -> ListenerRuntime:
    """``runtime`` with a selector that always picks ``agent`` (and never falls back)."""
    selector = Selector(runtime.listener, _PinnedRouter(agent))
    return dataclasses.replace(runtime, selector=selector)


async def run_tool_turn(
    runtime: ListenerRuntime,
    messages: list[dict[str, Any]],
    *,
    raw_headers: Iterable[tuple[bytes, bytes]],
    traceparent: Mapping[str, str],
    server: tuple[str, int | None] | None = None,
) -> ToolAnswer:
    """Run one non-streaming turn on ``runtime`` (already pinned) and read its answer.

    ``raw_headers`` are the caller's HTTP headers; ``traceparent`` the trace context to
    continue (``traceparent``/``tracestate``, possibly empty).
    """
    body = json.dumps({"messages": messages, "stream": False}, ensure_ascii=False).encode()
    headers = [
        (name.lower(), value)
        for name, value in raw_headers
        if name.lower() not in _TRANSPORT_ONLY and not name.lower().startswith(b"mcp-")
    ]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in traceparent.items()]
    headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope: Scope = post_scope(AGENT_PATH, headers, server=server)
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # The client never leaves mid-turn: the exchange cancels this watcher when done.
        await anyio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await _Exchange(runtime, scope, receive, send).run()
    return _answer(status, b"".join(chunks))


def _answer(status: int, body: bytes) -> ToolAnswer:
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {}
    if status == 200 and isinstance(data, dict) and "choices" in data:
        choices = data.get("choices") or [{}]
        content = (choices[0].get("message") or {}).get("content")
        return ToolAnswer(content if isinstance(content, str) else "")
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return ToolAnswer(f"The listener answered {status} without an answer.", True, status)
    return ToolAnswer(_error_text(error), True, status or 500)


def _error_text(error: Mapping[str, Any]) -> str:
    message = str(error.get("message") or "unknown error")
    if error.get("filter"):
        return f"filter '{error['filter']}' blocked the request: {message}"
    if error.get("hop"):
        return f"{error['hop']} '{error.get('target', '')}' failed: {message}"
    return f"listener error ({error.get('code') or error.get('type')}): {message}"
