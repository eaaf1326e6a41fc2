"""The far edge of the end-to-end filter tests, as plain ASGI apps for real uvicorn servers.

* :class:`RecordingAgent`: an OpenAI-compatible agent that records what it received and
  answers with the last user message it saw (so the client sees the rewrite too);
* :class:`RecordingOrchestrator`: an OpenAI-compatible router model that records every
  prompt and routes by keywords of the latest user turn;
* :class:`FakeProvider`: an OpenAI-compatible LLM provider for the model listener;
* filters: SDK-built markers and guards, and an MCP server written the way Plano's demos
  write one (plain ``mcp`` SDK, no plano code).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.types import ASGIApp, Receive, Scope, Send

from plano_agent_sdk.filters import FilterFunction, FilterRejection, filter_function


async def read_all(receive: Receive) -> bytes:
    """The whole request body."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def last_user(body: dict[str, Any]) -> str:
    """The text of the last user message of a chat body."""
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            return str(message.get("content"))
    return ""


def completion(text: str, *, model: str = "fake") -> dict[str, Any]:
    """A non-streamed chat completion answering ``text``."""
    return {
        "id": "chatcmpl-e2e",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def chunk(delta: dict[str, Any], finish: str | None = None, *, model: str = "fake") -> bytes:
    """One ``chat.completion.chunk`` SSE event."""
    data = {
        "id": "chatcmpl-e2e",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n".encode()


async def answer(
    send: Send,
    body: dict[str, Any],
    pieces: list[str],
    *,
    model: str,
    hold: tuple[int, anyio.Event] | None = None,
) -> None:
    """Answer a chat request with ``pieces``: SSE when it asked to stream, else one JSON.

    ``hold=(n, event)`` waits for ``event`` before streaming piece ``n``.
    """
    if body.get("stream"):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        events = [chunk({"role": "assistant", "content": ""}, model=model)]
        events += [chunk({"content": piece}, model=model) for piece in pieces]
        events += [chunk({}, "stop", model=model), b"data: [DONE]\n\n"]
        for index, event in enumerate(events):
            if hold is not None and index == hold[0] + 1:  # +1: the role chunk comes first
                await hold[1].wait()
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    payload = json.dumps(completion("".join(pieces), model=model)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})


@dataclass
class RecordingAgent:
    """An agent answering ``"<name> got: <last user message>"`` and recording each body."""

    name: str
    bodies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last_users(self) -> list[str]:
        """The last user message of every request, in arrival order."""
        return [last_user(body) for body in self.bodies]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_all(receive))
        self.bodies.append(body)
        await answer(send, body, [f"{self.name} got: ", last_user(body)], model=self.name)


@dataclass
class RecordingOrchestrator:
    """A router model: routes to every agent whose keyword is in the latest user turn."""

    keywords: dict[str, str]
    """keyword -> agent id."""
    prompts: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_all(receive))
        prompt = "\n".join(str(m.get("content")) for m in body["messages"])
        self.prompts.append(prompt)
        conversation = prompt.split("<conversation>\n", 1)[1].split("\n</conversation>", 1)[0]
        turns = json.loads(conversation)
        latest = next(t["content"] for t in reversed(turns) if t["role"] == "user").lower()
        route = [agent for keyword, agent in self.keywords.items() if keyword in latest]
        await answer(send, {}, [json.dumps({"route": route})], model="orchestrator")


@dataclass
class FakeProvider:
    """An OpenAI-compatible provider streaming ``pieces`` (or answering them as one JSON)."""

    pieces: list[str]
    hold: tuple[int, anyio.Event] | None = None
    """Wait for the event before streaming piece n (see :func:`answer`)."""
    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = json.loads(await read_all(receive))
        self.bodies.append(body)
        model = str(body.get("model", "fake"))
        await answer(send, body, list(self.pieces), model=model, hold=self.hold)


# -- filters -----------------------------------------------------------------------------


def marker(tag: str) -> FilterFunction:
    """An SDK filter (tool name ``tag``) appending `` [tag]`` to the last user message."""

    def append(body: dict[str, Any], path: str) -> dict[str, Any]:
        messages = [dict(m) for m in body["messages"]]
        messages[-1]["content"] = f"{messages[-1]['content']} [{tag}]"
        return {**body, "messages": messages}

    return filter_function(append, name=tag)


@filter_function(name="guard")
def guard(body: dict[str, Any], path: str) -> dict[str, Any]:
    """Blocks passwords (403) and masks a card number, so both rejection and rewrite show."""
    text = last_user(body)
    if "password" in text.lower():
        raise FilterRejection(403, "Sharing passwords is not allowed.")
    messages = [dict(m) for m in body["messages"]]
    messages[-1]["content"] = text.replace("4111-1111-1111-1111", "[card]")
    return {**body, "messages": messages}


def waiting(name: str, gate: anyio.Event) -> FilterFunction:
    """An SDK filter that answers only once ``gate`` is set (a slow filter)."""

    async def wait(body: dict[str, Any], path: str) -> dict[str, Any]:
        await gate.wait()
        return body

    return filter_function(wait, name=name)


def plano_demo_mcp_server() -> MCPServer:
    """An MCP filter server written as Plano's ``filter_chains/mcp_filter`` demo writes one."""
    mcp = MCPServer("rag-filters")

    @mcp.tool()
    def query_rewriter(body: dict, path: str) -> dict:  # type: ignore[type-arg]
        """Rewrite the last user message into a search query."""
        messages = body.get("messages", [])
        messages[-1]["content"] = "search: " + messages[-1]["content"]
        return body

    @mcp.tool()
    def input_guards(body: dict, path: str) -> dict:  # type: ignore[type-arg]
        """Reject anything about passwords."""
        if "password" in body["messages"][-1]["content"]:
            raise ToolError("Blocked by policy: passwords")
        return body

    return mcp


def garbage_mcp_server() -> MCPServer:
    """An MCP server whose tool ``garbage`` answers a string instead of a body."""
    mcp = MCPServer("garbage")

    @mcp.tool()
    def garbage(body: dict, path: str) -> str:  # type: ignore[type-arg]
        """Answer something that is not a request body."""
        return "not a body"

    return mcp


# The RAG demo's three filters (demos/filter_chains/{http,mcp}_filter), written with our SDK.

IN_SCOPE = ("refund", "warranty", "shipping", "policy")
RAG_CONTEXT = "Context: refunds are accepted within 30 days of delivery."


@filter_function
def input_guards(body: dict[str, Any], path: str) -> dict[str, Any]:
    """Rejects questions outside the knowledge base (the demo asks an LLM; we match words)."""
    if not any(word in last_user(body).lower() for word in IN_SCOPE):
        raise FilterRejection(400, "I can only answer questions about our store policies.")
    return body


@filter_function
def query_rewriter(body: dict[str, Any], path: str) -> dict[str, Any]:
    """Rewrites the last user message into a retrieval query."""
    messages = [dict(m) for m in body["messages"]]
    messages[-1]["content"] = "search: " + str(messages[-1]["content"]).rstrip("?").lower()
    return {**body, "messages": messages}


@filter_function
async def context_builder(body: dict[str, Any], path: str) -> dict[str, Any]:
    """Prepends the retrieved context as a system message."""
    return {**body, "messages": [{"role": "system", "content": RAG_CONTEXT}, *body["messages"]]}


def raw_reply(status: int, body: bytes, content_type: bytes = b"application/json") -> ASGIApp:
    """An HTTP server answering every request with ``status`` and ``body``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await read_all(receive)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type)],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app
