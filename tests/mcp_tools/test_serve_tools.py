"""The agents of ``plano-asgi serve`` as MCP tools, driven with the official ``mcp`` client.

One ``plano-asgi serve`` subprocess (three listeners, agents in-process) and the filter on
its own uvicorn, both started once for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from plano_asgi.agent_tools.arguments import TOOL_INPUT_SCHEMA
from tests.mcp_tools.stack import AGENTS, mcp_session, running, text_of, tools_config, write_config
from tests.support.servers import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@dataclass(frozen=True)
class Served:
    urls: dict[str, str]
    log: Path

    def mcp(self, listener: str) -> str:
        return f"{self.urls[listener]}/mcp"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("mcp_tools")
    ports = {name: free_port() for name in ("tools", "open", "closed")}
    guard_port = free_port()
    guard = ["uvicorn", "tests.mcp_tools.agents:guard", "--port", str(guard_port)]
    guard += ["--host", "127.0.0.1", "--log-level", "warning"]
    guard_url = f"http://127.0.0.1:{guard_port}"
    path = write_config(tmp / "plano_config.yaml", tools_config(ports, guard_url))
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    serve = ["plano_asgi", "serve", str(path), "--host", "127.0.0.1"]
    with (
        running(guard, tmp / "guard.log", [f"{guard_url}/healthz"]),
        running(serve, tmp / "serve.log", [f"{url}/healthz" for url in urls.values()]),
    ):
        yield Served(urls, tmp / "serve.log")


async def test_tools_list_one_tool_per_agent(served: Served) -> None:
    async with mcp_session(served.mcp("tools")) as session:
        listed = await session.list_tools()
    assert [tool.name for tool in listed.tools] == list(AGENTS)
    assert [tool.description for tool in listed.tools] == list(AGENTS.values())
    assert all(tool.input_schema == TOOL_INPUT_SCHEMA for tool in listed.tools)


async def test_exposure_lists_only_the_configured_agents(served: Served) -> None:
    async with mcp_session(served.mcp("open")) as session:
        listed = await session.list_tools()
    assert [tool.name for tool in listed.tools] == ["echo_agent"]


async def test_agent_tools_off_leaves_the_path_alone(served: Served) -> None:
    async with httpx2.AsyncClient() as client:
        response = await client.post(served.mcp("closed"), json={})
    assert response.status_code == 404


async def test_call_runs_the_agent_with_the_history(served: Served) -> None:
    history = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "an answer"},
    ]
    async with mcp_session(served.mcp("tools")) as session:
        result = await session.call_tool("echo_agent", {"message": "hi", "history": history})
    assert not result.is_error
    assert text_of(result).startswith("echo: hi | history=2 | auth=- |")


async def test_call_each_agent(served: Served) -> None:
    async with mcp_session(served.mcp("tools")) as session:
        results = {name: await session.call_tool(name, {"message": "hello"}) for name in AGENTS}
    assert text_of(results["echo_agent"]).startswith("echo: hello |")
    assert text_of(results["guarded_agent"]).startswith("echo: hello |")
    assert text_of(results["caller_agent"]).startswith(
        "caller saw [echo_agent,broken_agent,guarded_agent] and got <echo: nested hello |"
    )
    assert results["broken_agent"].is_error
    assert not any(results[name].is_error for name in AGENTS if name != "broken_agent")


async def test_a_failing_agent_is_a_tool_error_naming_the_hop(served: Served) -> None:
    async with mcp_session(served.mcp("tools")) as session:
        result = await session.call_tool("broken_agent", {"message": "hello"})
    assert result.is_error
    assert text_of(result) == (
        "agent 'broken_agent' failed: Agent 'broken_agent' failed with HTTP 503: "
        "the broken agent is out of order."
    )


async def test_a_blocking_filter_is_a_tool_error_naming_the_filter(served: Served) -> None:
    async with mcp_session(served.mcp("tools")) as session:
        result = await session.call_tool("guarded_agent", {"message": "my password is 1234"})
    assert result.is_error
    assert text_of(result).startswith("filter 'no_passwords' blocked the request:")
    assert "Please do not share passwords." in text_of(result)


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({}, "'message' is required"),
        ({"msg": "hi"}, "'msg' is not an argument"),
        ({"message": ""}, "'message': String should have at least 1 character"),
        ({"message": "hi", "history": [{"role": "robot", "content": "x"}]}, "'history.0.role'"),
    ],
)
async def test_invalid_arguments_get_a_clear_tool_error(
    served: Served, arguments: dict[str, object], problem: str
) -> None:
    async with mcp_session(served.mcp("tools")) as session:
        result = await session.call_tool("echo_agent", arguments)
    assert result.is_error
    assert text_of(result).startswith("Invalid arguments for tool 'echo_agent': ")
    assert problem in text_of(result)


async def test_an_unknown_tool_is_an_invalid_params_error(served: Served) -> None:
    async with mcp_session(served.mcp("tools")) as session:
        with pytest.raises(MCPError) as caught:
            await session.call_tool("no_such_agent", {"message": "hi"})
    assert caught.value.error.code == -32602
    assert "Unknown tool 'no_such_agent'" in caught.value.error.message


async def test_credentials_are_not_forwarded_unless_allowed(served: Served) -> None:
    headers = {"authorization": "Bearer client-secret"}
    async with mcp_session(served.mcp("tools"), headers) as session:
        closed = await session.call_tool("echo_agent", {"message": "hi"})
    async with mcp_session(served.mcp("open"), headers) as session:
        opened = await session.call_tool("echo_agent", {"message": "hi"})
    assert "| auth=- |" in text_of(closed)
    # Forwarded to the agent; the agent's echo of the client's key is redacted on the way back.
    assert "| auth=Bearer [redacted] |" in text_of(opened)
    assert "client-secret" not in text_of(opened)


async def test_a_nested_call_stays_in_the_callers_trace(served: Served) -> None:
    async with mcp_session(served.mcp("tools"), {"traceparent": TRACEPARENT}) as session:
        with anyio.fail_after(30):
            result = await session.call_tool("caller_agent", {"message": "hi"})
    text = text_of(result)
    # The caller, and the echo agent it called through the listener, are in our trace.
    assert text.count(f"trace={TRACE_ID}") == 2, text
