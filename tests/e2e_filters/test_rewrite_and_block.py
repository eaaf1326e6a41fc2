"""Filters that rewrite or block, through a served agent listener and the OpenAI client.

Every hop is a real uvicorn server on loopback: the listener (built as ``plano-asgi
serve`` builds it), the filters (our SDK's HTTP and MCP apps, and an MCP server written
the way Plano's demos write one) and a recording agent.
"""

from __future__ import annotations

from typing import Any

import anyio
import openai
import pytest
from starlette.types import ASGIApp

from plano_agent_sdk.filters import mcp_filter_app
from tests.e2e_filters.fakes import RecordingAgent, guard, marker, plano_demo_mcp_server
from tests.e2e_filters.stack import agent_config, listening, services, user

pytestmark = pytest.mark.anyio


def _rewriter(kind: str) -> tuple[ASGIApp, dict[str, Any], str]:
    """The filter app, its ``filters[]`` entry (url patched later) and the expected text."""
    if kind == "http-sdk":
        return marker("rewritten").http_app, {"id": "rewritten", "type": "http"}, "hi [rewritten]"
    if kind == "mcp-sdk":
        # No ``type``: MCP is Plano's default.
        return mcp_filter_app(marker("rewritten")), {"id": "rewritten"}, "hi [rewritten]"
    app = plano_demo_mcp_server().streamable_http_app()
    return app, {"id": "query_rewriter", "type": "mcp"}, "search: hi"


@pytest.mark.parametrize("kind", ["http-sdk", "mcp-sdk", "mcp-plano-demo"])
async def test_filter_rewrites_last_user_message_before_the_agent(kind: str) -> None:
    app, definition, expected = _rewriter(kind)
    agent = RecordingAgent("rag")
    with anyio.fail_after(20):
        async with services({"agent": agent, "filter": app}) as url:
            config = agent_config(
                {"rag": url["agent"]},
                [{**definition, "url": url["filter"]}],
                agent_filters={"rag": [definition["id"]]},
            )
            async with listening(config) as served:
                reply = await served.api.chat.completions.create(model="m", messages=[user("hi")])
    assert agent.last_users == [expected]
    assert reply.choices[0].message.content == f"rag got: {expected}"


def _blocker(kind: str) -> tuple[ASGIApp, dict[str, Any]]:
    if kind == "http-sdk":
        return guard.http_app, {"id": "guard", "type": "http"}
    if kind == "mcp-sdk":
        return mcp_filter_app(guard), {"id": "guard"}
    return plano_demo_mcp_server().streamable_http_app(), {"id": "input_guards"}


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("http-sdk", 403, "Sharing passwords is not allowed."),
        # Our SDK carries its status inside the isError text; we keep it.
        ("mcp-sdk", 403, "Sharing passwords is not allowed."),
        # A plain MCP server's ToolError is isError without a status: 400, as in Plano.
        ("mcp-plano-demo", 400, "Blocked by policy: passwords"),
    ],
)
async def test_guardrail_blocks_with_its_status_and_the_openai_envelope(
    kind: str, status: int, message: str
) -> None:
    app, definition = _blocker(kind)
    agent = RecordingAgent("rag")
    with anyio.fail_after(20):
        async with services({"agent": agent, "filter": app}) as url:
            config = agent_config(
                {"rag": url["agent"]},
                [{**definition, "url": url["filter"]}],
                agent_filters={"rag": [definition["id"]]},
            )
            async with listening(config) as served:
                with pytest.raises(openai.APIStatusError) as info:
                    await served.api.chat.completions.create(
                        model="m", messages=[user("my password is hunter2")]
                    )
                allowed = await served.api.chat.completions.create(
                    model="m", messages=[user("what is the weather")]
                )
    error = info.value
    assert error.status_code == status
    assert isinstance(error.body, dict)
    assert error.type == "filter_rejected"
    assert error.code == "filter_rejected"
    assert error.body["filter"] == definition["id"]
    assert error.body["message"] == f"Filter '{definition['id']}' rejected the request: {message}"
    assert error.request_id  # the listener's x-request-id is on the error too
    assert "hunter2" not in str(error.body)
    assert agent.last_users == ["what is the weather"]
    assert allowed.choices[0].message.content == "rag got: what is the weather"
