"""Chains through a served listener: order, listener-level guardrails before routing, and
one MCP session for many requests."""

from __future__ import annotations

import json

import anyio
import openai
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from plano_agent_sdk.filters import mcp_filter_app
from tests.e2e_filters.fakes import RecordingAgent, RecordingOrchestrator, guard, marker
from tests.e2e_filters.stack import agent_config, listening, services, user
from tests.filters.helpers import McpSpy

pytestmark = pytest.mark.anyio


async def test_chain_of_three_runs_in_config_order_streaming() -> None:
    agent = RecordingAgent("rag")
    apps: dict[str, ASGIApp] = {
        "agent": agent,
        "first": marker("first").http_app,
        "second": mcp_filter_app(marker("second")),
        "third": marker("third").http_app,
    }
    with anyio.fail_after(20):
        async with services(apps) as url:
            filters = [
                {"id": "first", "url": url["first"], "type": "http"},
                {"id": "second", "url": url["second"], "type": "mcp"},
                {"id": "third", "url": url["third"], "type": "http"},
            ]
            # Declared first..third, chained third, first, second: the chain's order wins.
            config = agent_config(
                {"rag": url["agent"]},
                filters,
                agent_filters={"rag": ["third", "first", "second"]},
            )
            async with listening(config) as served:
                stream = await served.api.chat.completions.create(
                    model="m", messages=[user("hello")], stream=True
                )
                text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert agent.last_users == ["hello [third] [first] [second]"]
    assert agent.bodies[0]["stream"] is True
    assert text == "rag got: hello [third] [first] [second]"


async def test_listener_guardrail_runs_before_routing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The router (a hosted LLM in Plano) never sees a blocked prompt, and sees the rewrite."""
    # No local fallback router: a routing failure would then show as the default agent.
    monkeypatch.setattr("plano_asgi.routing.factory.load_local_router", lambda: None)
    weather, flights = RecordingAgent("weather"), RecordingAgent("flights")
    orchestrator = RecordingOrchestrator({"weather": "weather", "flight": "flights"})
    apps: dict[str, ASGIApp] = {
        "weather": weather,
        "flights": flights,
        "orchestrator": orchestrator,
        "guard": guard.http_app,
    }
    with anyio.fail_after(20):
        async with services(apps) as url:
            config = agent_config(
                {"weather": url["weather"], "flights": url["flights"]},
                [{"id": "guard", "url": url["guard"], "type": "http"}],
                listener_filters=["guard"],
                orchestrator_url=url["orchestrator"],
            )
            async with listening(config) as served:
                with pytest.raises(openai.PermissionDeniedError) as info:
                    await served.api.chat.completions.create(
                        model="m", messages=[user("my password is hunter2, weather please")]
                    )
                assert orchestrator.prompts == []
                reply = await served.api.chat.completions.create(
                    model="m",
                    messages=[user("card 4111-1111-1111-1111: flight to Paris?")],
                )
    assert isinstance(info.value.body, dict)
    assert info.value.body["filter"] == "guard"
    # Exactly one routing call: the allowed turn, already rewritten.
    assert len(orchestrator.prompts) == 1
    assert "card [card]: flight to Paris?" in orchestrator.prompts[0]
    assert "4111" not in orchestrator.prompts[0]
    assert "hunter2" not in orchestrator.prompts[0]
    # Routed to the non-default agent: the orchestrator's answer was used, no fallback.
    assert flights.last_users == ["card [card]: flight to Paris?"]
    assert weather.bodies == []
    assert reply.choices[0].message.content == "flights got: card [card]: flight to Paris?"


async def test_mcp_session_is_reused_across_100_requests_through_the_listener() -> None:
    spy = McpSpy(mcp_filter_app(marker("tag"), host="127.0.0.1"))
    connections: set[tuple[str, int]] = set()

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            connections.add(tuple(scope["client"]))
        await spy(scope, receive, send)

    agent = RecordingAgent("rag")
    with anyio.fail_after(30):
        async with services({"agent": agent, "filter": counting}) as url:
            config = agent_config(
                {"rag": url["agent"]},
                [{"id": "tag", "url": url["filter"]}],
                agent_filters={"rag": ["tag"]},
            )
            async with listening(config) as served:

                async def turn(n: int) -> None:
                    reply = await served.api.chat.completions.create(
                        model="m", messages=[user(f"q{n}")]
                    )
                    assert reply.choices[0].message.content == f"rag got: q{n} [tag]"

                for batch in range(10):  # ten at a time: shared by concurrent requests too
                    async with anyio.create_task_group() as group:
                        for n in range(batch * 10, batch * 10 + 10):
                            group.start_soon(turn, n)
                calls_before_shutdown = spy.count("tools/call")
    assert spy.count("initialize") == 1
    assert calls_before_shutdown == 100
    assert len(spy.session_ids) == 1
    # Connections are reused too: at most one per concurrent call, plus the session's GET
    # stream (the MCP SDK alone would open a new one for every call).
    assert len(connections) <= 12
    assert sorted(agent.last_users) == sorted(f"q{n} [tag]" for n in range(100))
    # Shutting the listener down ends the session (Plano never closes its sessions).
    assert spy.http_methods.count("DELETE") == 1
    sent = [json.dumps(body) for body in spy.bodies if body and body.get("method") == "tools/call"]
    assert all('"path": "/v1/chat/completions"' in body for body in sent)
