"""``ScriptedLLM``: a real OpenAI-compatible ASGI app that answers from a script.

Use it to test an agent without a model: mount it behind the agent's gateway client
in-process (:class:`~plano_agent_sdk.testing.AgentTestClient` does that) or serve it on
loopback like any ASGI app. It answers ``POST /v1/chat/completions`` streaming or not,
as the caller asked, records every call (body and headers), and fails a test that made a
call the script did not expect or left replies unused (:meth:`ScriptedLLM.verify`), the
way openai-agents' scripted fake model does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeAlias

from starlette.types import Receive, Scope, Send

from plano_asgi._asgi import request_headers, route_path, send_json
from plano_asgi.chat import chat_completion, completion_chunk, completion_id
from plano_asgi.errors import error_body
from plano_asgi.sse import DONE, SSE_HEADERS, encode_data, encode_json

__all__ = ["LLMCall", "Reply", "ScriptedLLM", "ScriptedReply"]

_PIECES = re.compile(r"\s*\S+\s*|\s+")


@dataclass(frozen=True, slots=True)
class LLMCall:
    """One call the scripted model received."""

    path: str
    body: Mapping[str, Any]
    headers: Mapping[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The ``messages`` the caller sent."""
        return list(self.body.get("messages") or [])

    @property
    def stream(self) -> bool:
        """Whether the caller asked for a stream."""
        return bool(self.body.get("stream"))

    @property
    def last_user_message(self) -> str:
        """Text of the caller's latest user message ("" if none)."""
        for message in reversed(self.messages):
            if message.get("role") == "user" and isinstance(message.get("content"), str):
                return str(message["content"])
        return ""


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    """A reply with more control than a plain string.

    ``status`` >= 400 answers with an OpenAI error envelope carrying ``error``.
    ``usage`` defaults to a word count; it is sent in non-streaming answers and, when the
    caller asked for ``stream_options.include_usage``, as a final usage-only chunk.
    """

    text: str = ""
    status: int = 200
    error: str = "scripted error"
    usage: Mapping[str, int] | None = None
    finish_reason: str = "stop"


#: A scripted answer: text, a :class:`ScriptedReply`, or a function of the call.
Reply: TypeAlias = str | ScriptedReply | Callable[[LLMCall], "str | ScriptedReply"]


class ScriptedLLM:
    """An OpenAI-compatible model that answers the scripted ``replies`` in order.

    ``default`` answers every call once the script is used up (useful for load tests);
    without it such a call gets a 500 and is recorded in :attr:`unexpected`.
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        default: Reply | None = None,
        model: str = "scripted-model",
    ) -> None:
        self.replies: list[Reply] = list(replies)
        self.default = default
        self.model = model
        self.calls: list[LLMCall] = []
        """Every call received, in arrival order."""
        self.unexpected: list[LLMCall] = []
        """Calls that found the script empty (and got a 500)."""

    def verify(self) -> None:
        """Fail (``AssertionError``) on unexpected calls or replies nobody asked for."""
        problems = []
        if self.unexpected:
            problems.append(f"{len(self.unexpected)} unexpected call(s) to the scripted LLM")
        if self.replies:
            problems.append(f"{len(self.replies)} scripted reply(ies) never requested")
        if problems:
            raise AssertionError("; ".join(problems))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = route_path(scope)
        if path in ("/v1/models", "/models"):
            entry = {"id": self.model, "object": "model", "created": 0, "owned_by": "scripted"}
            await send_json(send, 200, {"object": "list", "data": [entry]})
            return
        if path not in ("/v1/chat/completions", "/chat/completions"):
            await send_json(
                send,
                404,
                error_body(f"no route {path}", type="invalid_request_error", code="not_found"),
            )
            return
        body = await _read(receive)
        headers = request_headers(scope)
        call = LLMCall(path=path, body=MappingProxyType(body), headers=MappingProxyType(headers))
        self.calls.append(call)
        reply = self._next(call)
        if reply is None:
            self.unexpected.append(call)
            message = f"ScriptedLLM: unexpected call #{len(self.calls)} (script is empty)"
            await send_json(send, 500, error_body(message, type="server_error"))
            return
        await self._answer(send, call, reply)

    def _next(self, call: LLMCall) -> ScriptedReply | None:
        reply = self.replies.pop(0) if self.replies else self.default
        if reply is None:
            return None
        if callable(reply):
            reply = reply(call)
        return ScriptedReply(text=reply) if isinstance(reply, str) else reply

    async def _answer(self, send: Send, call: LLMCall, reply: ScriptedReply) -> None:
        if reply.status >= 400:
            await send_json(send, reply.status, error_body(reply.error, type="scripted_error"))
            return
        model = str(call.body.get("model") or self.model)
        usage = dict(reply.usage) if reply.usage is not None else _usage(call, reply.text)
        if not call.stream:
            completion = chat_completion(content=reply.text, model=model, usage=usage)
            completion["choices"][0]["finish_reason"] = reply.finish_reason
            await send_json(send, 200, completion)
            return
        cid = completion_id()
        chunks = [completion_chunk(id=cid, model=model, role="assistant", content="")]
        chunks += [completion_chunk(id=cid, model=model, content=p) for p in _pieces(reply.text)]
        chunks.append(completion_chunk(id=cid, model=model, finish_reason=reply.finish_reason))
        options = call.body.get("stream_options") or {}
        if options.get("include_usage"):
            last = completion_chunk(id=cid, model=model)
            last["choices"] = []
            last["usage"] = usage
            chunks.append(last)
        await send({"type": "http.response.start", "status": 200, "headers": list(SSE_HEADERS)})
        for chunk in chunks:
            await send(
                {"type": "http.response.body", "body": encode_json(chunk), "more_body": True}
            )
        await send({"type": "http.response.body", "body": encode_data(DONE), "more_body": False})


def _pieces(text: str) -> list[str]:
    return _PIECES.findall(text) or ([text] if text else [])


def _usage(call: LLMCall, text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "").split()) for m in call.messages)
    completion = len(text.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def _read(receive: Receive) -> dict[str, Any]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            break
    data = json.loads(b"".join(chunks) or b"{}")
    return data if isinstance(data, dict) else {}
