"""Where ``/mcp`` lives: under a mount prefix, off (the wrapped app's), and without the extra."""

from __future__ import annotations

import sys
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from plano_asgi.config import PlanoConfig
from plano_asgi.middleware import PlanoMiddleware
from tests.mcp_tools.agents import build_agents
from tests.mcp_tools.stack import mcp_session, text_of
from tests.support.servers import serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def config(**tools: Any) -> PlanoConfig:
    listener: dict[str, Any] = {
        "type": "agent",
        "name": "tools",
        "agents": [{"id": "echo_agent", "description": "Repeats."}],
    }
    if tools:
        listener["agent_tools"] = tools
    return PlanoConfig.from_dict(
        {
            "version": "v0.3.0",
            "agents": [{"id": "echo_agent", "url": "http://127.0.0.1:9"}],
            "listeners": [listener],
        }
    )


async def test_tools_under_a_mount_prefix_and_a_custom_path() -> None:
    echo = build_agents()["echo_agent"]
    plano = PlanoMiddleware(config=config(path="/tools"), agents={"echo_agent": echo})
    app = Starlette(routes=[Mount("/plano", app=plano)])
    async with plano, serve(app) as srv:
        async with mcp_session(f"{srv.url}/plano/tools") as session:
            result = await session.call_tool("echo_agent", {"message": "hi"})
    await echo.aclose()
    assert text_of(result).startswith("echo: hi |")


async def test_tools_off_leave_mcp_to_the_wrapped_app() -> None:
    async def own(request: Request) -> PlainTextResponse:
        return PlainTextResponse("the app's own /mcp")

    inner = Starlette(routes=[Route("/mcp", own, methods=["POST"])])
    plano = PlanoMiddleware(inner, config=config(enabled=False))
    async with plano, serve(plano) as srv, httpx2.AsyncClient() as client:
        response = await client.post(f"{srv.url}/mcp", json={})
    assert response.text == "the app's own /mcp"


async def test_without_the_mcp_extra_the_endpoint_says_which_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An import of the MCP server raises ImportError, as when the extra is not installed.
    monkeypatch.setitem(sys.modules, "mcp.server.lowlevel", None)
    plano = PlanoMiddleware(config=config())
    async with plano, serve(plano) as srv, httpx2.AsyncClient() as client:
        response = await client.post(f"{srv.url}/mcp", json={})
        chat = await client.get(f"{srv.url}/healthz")
    assert response.status_code == 501
    assert "pip install 'plano-asgi[mcp]'" in response.json()["error"]["message"]
    assert chat.status_code == 200
