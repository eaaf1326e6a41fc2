"""The other agents of your listener as tools for your LLM calls (MCP, through the listener).

One line hands them to the model::

    async with agent_tools() as tools:
        reply = await tools.complete(ctx.llm, model="gpt-4o", messages=messages)

or call one yourself: ``text = await tools.ask("weather_agent", "Weather in Atlanta?")``.

The tools are listed from the listener's ``/mcp`` endpoint, and every call goes through it,
so the called agent runs with its filter chain exactly as a routed turn. Each call carries
the current request's ``traceparent`` and ``x-request-id`` (:func:`forward_context`), so the
nested agent call shows up under your agent's span in one trace. Your own agent is left out
of the list, so a model cannot call itself.

Where the listener is: ``url=``, else ``PLANO_LISTENER_URL``, else (for agents run
in-process by the listener) the listener serving the current request. Needs the ``mcp``
extra.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx2

from plano_agent_sdk.context import current_context
from plano_agent_sdk.errors import AgentError
from plano_agent_sdk.gateway import forward_context
from plano_asgi.agent_tools.origin import LISTENER_URL
from plano_asgi.config.settings import PlanoSettings
from plano_asgi.errors import MissingExtraError
from plano_asgi.outbound import outbound_client
from plano_asgi.telemetry.propagation import inject_headers

if TYPE_CHECKING:
    from mcp.client.session import ClientSession
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion

__all__ = ["AgentToolError", "AgentTools", "agent_tools"]

MAX_ROUNDS = 4
"""Model turns :meth:`AgentTools.complete` allows before it stops calling tools."""


class AgentToolError(AgentError):
    """A tool call failed: the agent, one of its filters, or the listener (``tool`` names it)."""

    def __init__(self, tool: str, message: str) -> None:
        super().__init__(502, message, code="agent_tool_failed")
        self.tool = tool


@dataclass(frozen=True, slots=True)
class _Tool:
    name: str
    description: str
    schema: Mapping[str, Any]


class AgentTools:
    """An open MCP session with the listener and the tools it offers (see the module doc)."""

    def __init__(self, session: ClientSession, tools: Sequence[_Tool]) -> None:
        self._session = session
        self._tools = {tool.name: tool for tool in tools}

    @property
    def names(self) -> tuple[str, ...]:
        """The agents you can call."""
        return tuple(self._tools)

    @property
    def definitions(self) -> list[dict[str, Any]]:
        """The tools in OpenAI's ``tools=[...]`` shape."""
        return [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": dict(tool.schema),
                },
            }
            for tool in self._tools.values()
        ]

    async def call(self, name: str, arguments: Mapping[str, Any] | str) -> tuple[str, bool]:
        """Call tool ``name``; returns ``(text, is_error)`` (errors name the failed hop)."""
        if name not in self._tools:
            return f"No tool '{name}'; the tools are: {', '.join(self._tools) or 'none'}.", True
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments or "{}")
            except ValueError:
                return f"The arguments for '{name}' are not JSON.", True
        if not isinstance(arguments, Mapping):
            return f"The arguments for '{name}' must be a JSON object.", True
        result = await self._session.call_tool(name, dict(arguments))
        text = "".join(getattr(part, "text", "") for part in result.content)
        return text, bool(result.is_error)

    async def ask(self, agent: str, message: str, history: Sequence[Mapping[str, Any]] = ()) -> str:
        """Ask ``agent`` one thing; its answer, or :class:`AgentToolError` when it failed."""
        arguments: dict[str, Any] = {"message": message}
        if history:
            arguments["history"] = [dict(turn) for turn in history]
        text, failed = await self.call(agent, arguments)
        if failed:
            raise AgentToolError(agent, text)
        return text

    async def complete(self, llm: AsyncOpenAI, **create: Any) -> ChatCompletion:
        """``llm.chat.completions.create(**create)`` with the agents as tools, until it answers.

        Each tool call the model makes runs through the listener and its result (or error)
        goes back to the model; after :data:`MAX_ROUNDS` model turns the last reply is
        returned as it is.
        """
        messages = list(create.pop("messages"))
        tools: Any = self.definitions
        reply: ChatCompletion | None = None
        for _ in range(MAX_ROUNDS):
            reply = await llm.chat.completions.create(
                messages=messages, tools=tools, stream=False, **create
            )
            calls = reply.choices[0].message.tool_calls if reply.choices else None
            if not calls:
                return reply
            messages.append(reply.choices[0].message.model_dump(exclude_none=True))
            for call in calls:
                function = getattr(call, "function", None)
                if function is None:
                    continue
                text, failed = await self.call(function.name, function.arguments)
                content = f"Error: {text}" if failed else text
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
        assert reply is not None
        return reply


@contextlib.asynccontextmanager
async def agent_tools(
    url: str | None = None,
    *,
    path: str = "/mcp",
    include_self: bool = False,
    call_timeout: float = 120.0,
) -> AsyncIterator[AgentTools]:
    """Open a session with the listener's agent tools for the ``async with`` block."""
    try:
        from mcp.client.session import ClientSession  # the `mcp` extra is optional
        from mcp.client.streamable_http import streamable_http_client
    except ImportError as exc:
        raise MissingExtraError("mcp", "agent_tools()", exc) from exc

    base = url or PlanoSettings().listener_url or LISTENER_URL.get()
    if not base:
        raise AgentError(
            500,
            "No listener to reach the agent tools: pass url=, or set PLANO_LISTENER_URL.",
            code="agent_tools_unavailable",
        )
    ctx = current_context()
    own = None if include_self or ctx is None else ctx.agent
    # The trace context of *this* point (your agent's span, when an SDK records), fixed for
    # the session: the MCP client sends from tasks of its own, where other spans may be current.
    headers: dict[str, str] = {}
    if ctx is not None:
        inject_headers(headers, incoming=ctx.propagation_headers())
        headers["x-request-id"] = ctx.request_id
    client = outbound_client(
        headers=headers,
        timeout=httpx2.Timeout(call_timeout, connect=5.0),
        request_hooks=[forward_context],
    )
    async with (
        client,
        streamable_http_client(f"{base.rstrip('/')}{path}", http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        listed = await session.list_tools()
        tools = [
            _Tool(tool.name, tool.description or "", tool.input_schema)
            for tool in listed.tools
            if tool.name != own
        ]
        yield AgentTools(session, tools)
