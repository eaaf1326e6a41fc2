"""``agent_tools().complete()``: the model gets the other agents as tools, and its tool calls
run through the listener (real uvicorn, a fake OpenAI-compatible model on loopback)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plano_agent_sdk import agent_tools
from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.request import AgentRequest
from plano_asgi.config import PlanoConfig
from plano_asgi.middleware import PlanoMiddleware
from tests.mcp_tools.agents import build_agents
from tests.mcp_tools.stack import mcp_session, text_of
from tests.support.servers import serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def completion(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }


def fake_model(seen: list[dict[str, Any]]) -> Starlette:
    """Asks for ``echo_agent`` first; then answers with what the tool returned."""

    async def create(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        seen.append(body)
        results = [m for m in body["messages"] if m["role"] == "tool"]
        if not results:
            call = {
                "id": "call_1",
                "type": "function",
                "function": {"name": "echo_agent", "arguments": '{"message": "ping"}'},
            }
            return JSONResponse(completion({"role": "assistant", "tool_calls": [call]}))
        return JSONResponse(
            completion({"role": "assistant", "content": f"model saw <{results[0]['content']}>"})
        )

    return Starlette(routes=[Route("/v1/chat/completions", create, methods=["POST"])])


async def test_complete_lets_the_model_call_another_agent_through_the_listener() -> None:
    seen: list[dict[str, Any]] = []
    async with serve(fake_model(seen)) as model:
        planner = Agent("planner_agent", gateway_url=f"{model.url}/v1")

        @planner.handler
        async def plan(request: AgentRequest, ctx: Context) -> str:
            async with agent_tools() as tools:
                reply = await tools.complete(ctx.llm, model="m", messages=request.llm_messages())
            return reply.choices[0].message.content or ""

        agents = {"echo_agent": build_agents()["echo_agent"], "planner_agent": planner}
        config = PlanoConfig.from_dict(
            {
                "version": "v0.3.0",
                "agents": [{"id": name, "url": "http://127.0.0.1:9"} for name in agents],
                "listeners": [
                    {
                        "type": "agent",
                        "name": "tools",
                        "router": "local_v1",
                        "agents": [{"id": name, "description": name} for name in agents],
                    }
                ],
            }
        )
        listener = PlanoMiddleware(config=config, agents=agents)
        async with listener, serve(listener) as srv:
            async with mcp_session(f"{srv.url}/mcp") as session:
                result = await session.call_tool("planner_agent", {"message": "plan it"})
        for agent in agents.values():
            await agent.aclose()
    assert not result.is_error, text_of(result)
    assert text_of(result).startswith("model saw <echo: ping | history=0 |")
    offered = [tool["function"]["name"] for tool in seen[0]["tools"]]
    assert offered == ["echo_agent"]  # the planner itself is not offered
    assert seen[1]["messages"][-1]["tool_call_id"] == "call_1"
