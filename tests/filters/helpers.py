"""Filter services for the tests: SDK-built filters, a plain MCPServer as Plano's demos write
it, misbehaving HTTP servers, and a spy that records what an MCP server receives."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plano_agent_sdk.filters import FilterRejection, filter_function
from plano_asgi.config import PlanoConfig
from plano_asgi.filters.base import FilterCall

CALL = FilterCall(
    path="/v1/chat/completions",
    headers={
        "x-request-id": "req-1",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    },
    request_id="req-1",
)


def chat(text: str = "hello") -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


def last_text(payload: dict[str, Any]) -> str:
    return str(payload["messages"][-1]["content"])


def tagger(tag: str) -> Callable[[dict[str, Any], str], dict[str, Any]]:
    """A filter appending ``[tag]`` to the last user message (order of tags = order of calls)."""

    def rewrite(body: dict[str, Any], path: str) -> dict[str, Any]:
        messages = [dict(m) for m in body["messages"]]
        messages[-1]["content"] = f"{messages[-1]['content']} [{tag}]"
        return {**body, "messages": messages}

    rewrite.__name__ = tag
    return rewrite


@filter_function
def input_guards(body: dict[str, Any], path: str) -> dict[str, Any]:
    """Blocks requests that mention a password."""
    if "password" in last_text(body).lower():
        raise FilterRejection(403, "Sharing passwords is not allowed.")
    return body


@filter_function
async def query_rewriter(body: dict[str, Any], path: str) -> dict[str, Any]:
    """Rewrites the last user message into a search query."""
    return tagger("rewritten")(body, path)


@filter_function
def context_builder(body: dict[str, Any], path: str) -> dict[str, Any]:
    """Prepends retrieved context as a system message."""
    system = {"role": "system", "content": f"context for {path}"}
    return {**body, "messages": [system, *body["messages"]]}


def plano_style_server() -> MCPServer:
    """An MCP filter written the way Plano's demos write one (plain SDK, no plano code)."""
    mcp = MCPServer("query-rewriter")

    @mcp.tool()
    def query_rewriter(body: dict, path: str) -> dict:  # type: ignore[type-arg]
        """Rewrite the last user message."""
        messages = body["messages"]
        messages[-1]["content"] = messages[-1]["content"].upper()
        return body

    @mcp.tool()
    def guard(body: dict, path: str) -> dict:  # type: ignore[type-arg]
        """Reject everything."""
        raise ToolError("Blocked by policy")

    return mcp


class McpSpy:
    """ASGI wrapper recording each JSON-RPC method and the headers of every POST."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.methods: list[str | None] = []
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.http_methods: list[str] = []
        self.session_ids: set[str] = set()

    def count(self, method: str) -> int:
        return self.methods.count(method)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.http_methods.append(scope["method"])
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.headers.append(headers)
        if "mcp-session-id" in headers:
            self.session_ids.add(headers["mcp-session-id"])
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        self.bodies.append(data)
        self.methods.append(data.get("method") if isinstance(data, dict) else None)

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)


def raw_app(status: int, body: bytes, *, gate: anyio.Event | None = None) -> ASGIApp:
    """An HTTP server answering every request with ``status`` and ``body`` (after ``gate``)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body", False):
            pass
        if gate is not None:
            await gate.wait()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def filter_config(*filters: dict[str, Any]) -> PlanoConfig:
    """A minimal valid config declaring ``filters``."""
    return PlanoConfig.from_dict(
        {
            "version": "v0.3.0",
            "filters": list(filters),
            "model_providers": [
                {"model": "openai/gpt-4o-mini", "access_key": "k", "default": True}
            ],
        }
    )
