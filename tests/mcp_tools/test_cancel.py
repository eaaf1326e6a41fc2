"""A caller that gives up on a tool call cancels the agent call (no tokens spent for nobody)."""

from __future__ import annotations

import anyio
import pytest

from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.request import AgentRequest
from plano_asgi.config import PlanoConfig
from plano_asgi.middleware import PlanoMiddleware
from tests.mcp_tools.stack import mcp_session
from tests.support.servers import serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def test_a_cancelled_tool_call_cancels_the_agent() -> None:
    started, cancelled = anyio.Event(), anyio.Event()
    slow = Agent("slow_agent")

    @slow.handler
    async def handle(request: AgentRequest, ctx: Context) -> str:
        started.set()
        try:
            await anyio.sleep(30)
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise
        return "too late"

    config = PlanoConfig.from_dict(
        {
            "version": "v0.3.0",
            "agents": [{"id": "slow_agent", "url": "http://127.0.0.1:9"}],
            "listeners": [
                {
                    "type": "agent",
                    "name": "tools",
                    "agents": [{"id": "slow_agent", "description": "Takes its time."}],
                }
            ],
        }
    )
    listener = PlanoMiddleware(config=config, agents={"slow_agent": slow})
    async with listener, serve(listener) as srv:
        async with mcp_session(f"{srv.url}/mcp") as session:
            async with anyio.create_task_group() as group:
                group.start_soon(session.call_tool, "slow_agent", {"message": "hi"})
                with anyio.fail_after(10):
                    await started.wait()
                group.cancel_scope.cancel()
        with anyio.fail_after(5):
            await cancelled.wait()
    await slow.aclose()
