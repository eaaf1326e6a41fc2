"""SDK agents and a filter the agent-tool tests serve (``app: tests.mcp_tools.agents:<name>``)."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Tracer

from plano_agent_sdk import agent_tools
from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.errors import AgentError
from plano_agent_sdk.filters import FilterRejection, filter_function
from plano_agent_sdk.request import AgentRequest


def build_agents(tracer: Tracer | None = None) -> dict[str, Agent]:
    """``echo_agent`` (repeats, and says what it received), ``broken_agent`` (always 503)
    and ``caller_agent`` (asks ``echo_agent`` through its tool)."""
    echo = Agent("echo_agent", description="Repeats what you say.", tracer=tracer)
    broken = Agent("broken_agent", description="Always fails.", tracer=tracer)
    caller = Agent("caller_agent", description="Asks the echo agent.", tracer=tracer)

    @echo.handler
    async def _echo(request: AgentRequest, ctx: Context) -> str:
        last = request.messages[-1].content
        earlier = len(request.messages) - 1
        # What reached the agent (header policy) and its trace, for the tests to read.
        auth = ctx.headers.get("authorization", "-")
        return f"echo: {last} | history={earlier} | auth={auth} | trace={ctx.trace_id}"

    @broken.handler
    async def _broken(request: AgentRequest, ctx: Context) -> str:
        raise AgentError(503, "the broken agent is out of order")

    @caller.handler
    async def _caller(request: AgentRequest, ctx: Context) -> str:
        async with agent_tools() as tools:
            names = ",".join(tools.names)
            answer = await tools.ask("echo_agent", f"nested {request.messages[-1].content}")
        return f"caller saw [{names}] and got <{answer}> | trace={ctx.trace_id}"

    return {"echo_agent": echo, "broken_agent": broken, "caller_agent": caller}


_agents = build_agents()
echo = _agents["echo_agent"]
broken = _agents["broken_agent"]
caller = _agents["caller_agent"]


@filter_function
def no_passwords(body: dict[str, Any], path: str) -> dict[str, Any]:
    """Blocks any message that mentions a password."""
    if "password" in str(body["messages"][-1].get("content", "")).lower():
        raise FilterRejection(403, "Please do not share passwords.")
    return body


guard = no_passwords.http_app
