"""The routing decision API: which model would serve this request, without calling it.

``POST /routing/v1/chat/completions``, ``/routing/v1/messages`` and
``/routing/v1/responses`` take the body the client would send to the same path without
``/routing`` and answer, as Plano does::

    {"models": ["anthropic/claude-sonnet-4-6", "openai/gpt-4o"], "route": "code_generation",
     "trace_id": "4bf9...", "pinned": false, "switched": false}

``models`` is the ranked list to try (a client may fall back along it itself); with no
routing preference fitting, it holds what the requested model resolves to (its alias
targets, or the default provider for ``auto``) and ``route`` is ``null``. Ours, beside
Plano's fields: ``router`` (who decided) and ``confidence`` (its calibrated probability of
being right, when the router gives one). Sessions are not pinned (``pinned`` and
``switched`` are always ``false``). Bad input gets the path's error envelope: OpenAI's,
or Anthropic's on ``/routing/v1/messages``.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from starlette.types import Receive, Scope, Send

from plano_asgi._asgi import header, read_json_object, request_headers, send_json
from plano_asgi.errors import PlanoError
from plano_asgi.exchange import BaseExchange
from plano_asgi.gateway.deps import GatewayDeps
from plano_asgi.gateway.preferences import ModelChoice, conversation, inline_routes, targets_for
from plano_asgi.gateway.request_checks import check_request
from plano_asgi.wire.anthropic import anthropic_error

__all__ = ["DECISION_ROUTES", "serve_decision"]

DECISION_ROUTES = {
    "/routing/v1/chat/completions": "openai",
    "/routing/v1/messages": "anthropic",
    "/routing/v1/responses": "responses",
}
"""Path -> the client API whose body it takes."""

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


async def serve_decision(
    deps: GatewayDeps, scope: Scope, receive: Receive, send: Send, api: str
) -> None:
    """Answer one decision request (errors become the API's envelope at the edge)."""
    await _Decision(deps, scope, receive, send, api).run()


class _Decision(BaseExchange):
    """One decision request: no provider call, so no race; the base's error edge."""

    logger = logging.getLogger("plano_asgi.gateway")
    unexpected_message = "The gateway failed unexpectedly; see its logs."

    def __init__(self, deps: GatewayDeps, scope: Scope, receive: Receive, send: Send, api: str):
        super().__init__(scope, receive, send)
        self.deps = deps
        self.api = api

    async def run(self) -> None:
        await self.guard(self._answer)

    async def _answer(self) -> None:
        answer = await _decide(self.deps, self.scope, self.receive, self.api)
        answer["trace_id"] = _trace_id(header(self.scope, b"traceparent"))
        await send_json(self.send, 200, answer)

    def error_body(self, error: PlanoError) -> dict[str, Any]:
        body = error.to_dict()
        return anthropic_error(error.status_code, body) if self.api == "anthropic" else body


async def _decide(deps: GatewayDeps, scope: Scope, receive: Receive, api: str) -> dict[str, Any]:
    _, body = await read_json_object(receive, deps.max_body_bytes)
    check_request(api, body)
    model = body.get("model")
    routes = (
        inline_routes(body.pop("routing_preferences")) if "routing_preferences" in body else None
    )
    choice: ModelChoice | None = None
    preferences = deps.preferences
    if preferences is not None:
        sessions = preferences.sessions
        session = sessions.session(request_headers(scope), api, body) if sessions else None
        choice = await preferences.choose(conversation(api, body), routes, session=session)
    targets = targets_for(deps.resolver, model, choice)
    answer: dict[str, Any] = {
        "models": [target.name for target in targets],
        "route": choice.route if choice is not None else None,
        "pinned": choice is not None and choice.pinned,
        "switched": choice is not None and choice.switched,
    }
    if choice is not None and choice.session_id is not None:
        answer["session_id"] = choice.session_id
    if choice is not None:
        answer["router"] = choice.router
        if choice.confidence is not None:
            answer["confidence"] = round(choice.confidence, 4)
    return answer


def _trace_id(traceparent: str | None) -> str:
    """The caller's trace id when it sent a valid ``traceparent``, else a fresh one."""
    if traceparent is not None:
        match = _TRACEPARENT.match(traceparent.strip().lower())
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    return secrets.token_hex(16)
