"""Session affinity of preference routing: a session keeps its category, in memory or in a
real Redis shared by two gateways, with the embedded router deciding."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest

from plano_asgi.gateway.affinity import (
    MemorySessions,
    RedisSessions,
    implicit_session_id,
    last_is_user_turn,
)
from tests.gateway.helpers import running
from tests.gateway.test_preferences import (
    CODE_TURN,
    PREFERENCES,
    SMALL_TALK,
    TRAVEL_TURN,
    _ask,
    _config,
    _Fakes,
)
from tests.support.redis_server import RedisServer
from tests.support.servers import free_port

pytestmark = pytest.mark.anyio

DECIDE = "/routing/v1/chat/completions"


def _body(messages: list[Any]) -> dict[str, Any]:
    return {"model": "openai/gpt-4o-mini", "messages": messages}


async def test_a_session_keeps_its_category_on_turns_that_fit_none_and_switches_on_others() -> None:
    with anyio.fail_after(60):
        async with _Fakes() as fakes:
            config = _config(fakes, routing_preferences=PREFERENCES)
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as http:
                pin = {"x-model-affinity": "conv-42"}
                first = (await http.post(DECIDE, json=_body(_ask(CODE_TURN)), headers=pin)).json()
                small = (await http.post(DECIDE, json=_body(_ask(SMALL_TALK)), headers=pin)).json()
                alone = (await http.post(DECIDE, json=_body(_ask(SMALL_TALK)))).json()
                moved = (await http.post(DECIDE, json=_body(_ask(TRAVEL_TURN)), headers=pin)).json()
                other = {"x-model-affinity": "conv-43"}
                fresh = (
                    await http.post(DECIDE, json=_body(_ask(SMALL_TALK)), headers=other)
                ).json()
                bad = await http.post(
                    DECIDE, json=_body(_ask(CODE_TURN)), headers={"x-model-affinity": "a b"}
                )
    assert (first["route"], first["pinned"], first["switched"]) == ("code_generation", False, False)
    assert first["session_id"] == "conv-42"
    assert (small["route"], small["pinned"], small["switched"]) == ("code_generation", True, False)
    assert small["models"] == PREFERENCES[0]["models"]
    assert (alone["route"], "session_id" in alone) == (None, False)
    assert (moved["route"], moved["pinned"], moved["switched"]) == ("travel_planning", False, True)
    assert (fresh["route"], fresh["pinned"]) == (None, False)
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "x-model-affinity"


async def test_route_on_user_only_replays_the_sessions_category_for_a_tool_result() -> None:
    tool_turn = [
        {"role": "user", "content": CODE_TURN},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "run", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "ok, 3 tests passed"},
    ]
    with anyio.fail_after(60):
        async with _Fakes() as fakes:
            config = _config(
                fakes, routing_preferences=PREFERENCES, routing={"route_on_user_only": True}
            )
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as http:
                first = (await http.post(DECIDE, json=_body(_ask(CODE_TURN)))).json()
                replay = (await http.post(DECIDE, json=_body(tool_turn))).json()
                chat = await http.post("/v1/chat/completions", json=_body(tool_turn))
    # No header: the implicit id (system text, tools, first user message) names the session.
    assert first["session_id"] == replay["session_id"]
    assert first["session_id"].startswith("implicit:")
    assert (replay["route"], replay["pinned"], replay["router"]) == (
        "code_generation",
        True,
        "session",
    )
    assert chat.status_code == 200
    assert len(fakes["sonnet"].requests) == 1  # the category's first model answered


async def test_two_gateways_share_a_session_through_redis(redis_server: RedisServer) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/5"
    routing = {"session_cache": {"type": "redis", "url": url, "tenant_header": "x-tenant"}}
    with anyio.fail_after(60):
        async with _Fakes() as fakes:
            config = _config(fakes, routing_preferences=PREFERENCES, routing=routing)
            async with (
                running(config) as url_a,
                running(config) as url_b,
                httpx2.AsyncClient() as http,
            ):
                pin = {"x-model-affinity": "shared-1", "x-tenant": "acme"}
                await http.post(url_a + DECIDE, json=_body(_ask(CODE_TURN)), headers=pin)
                kept = (
                    await http.post(url_b + DECIDE, json=_body(_ask(SMALL_TALK)), headers=pin)
                ).json()
                other_tenant = {"x-model-affinity": "shared-1", "x-tenant": "globex"}
                apart = (
                    await http.post(
                        url_b + DECIDE, json=_body(_ask(SMALL_TALK)), headers=other_tenant
                    )
                ).json()
    assert (kept["route"], kept["pinned"]) == ("code_generation", True)
    assert (apart["route"], apart["pinned"]) == (None, False)


async def test_a_redis_that_is_down_is_a_miss_not_a_failure() -> None:
    sessions = RedisSessions(f"redis://127.0.0.1:{free_port()}/0", ttl=60, timeout=0.2)
    try:
        await sessions.put("t:s", "code_generation")
        assert await sessions.get("t:s") is None
    finally:
        await sessions.aclose()


async def test_memory_sessions_expire_and_drop_the_least_recently_used() -> None:
    now = [0.0]
    sessions = MemorySessions(max_entries=2, ttl=10, clock=lambda: now[0])
    await sessions.put("a", "x")
    await sessions.put("b", "y")
    await sessions.put("c", "z")
    assert (await sessions.get("a"), await sessions.get("b"), len(sessions)) == (None, "y", 2)
    now[0] = 11.0
    assert await sessions.get("c") is None


def test_the_implicit_id_is_stable_as_the_conversation_grows_and_differs_by_anchor() -> None:
    start = {"messages": [{"role": "system", "content": "Be terse."}, *_ask(CODE_TURN)]}
    grown = {
        "messages": [
            *start["messages"],
            {"role": "assistant", "content": "done"},
            {"role": "user", "content": "now in Go"},
        ]
    }
    one = implicit_session_id("openai", start)
    assert one is not None
    assert one.startswith("implicit:")
    assert len(one) == len("implicit:") + 16
    assert implicit_session_id("openai", grown) == one
    assert implicit_session_id("openai", {"messages": _ask(TRAVEL_TURN)}) != one
    assert implicit_session_id("openai", start, tenant="acme") != one
    assert implicit_session_id("openai", {**start, "tools": [{"name": "run"}]}) != one
    assert implicit_session_id("openai", {"messages": [{"role": "system", "content": "x"}]}) is None


def test_a_user_turn_is_told_from_tool_results_in_every_shape() -> None:
    assert last_is_user_turn("openai", {"messages": _ask("hi")})
    assert not last_is_user_turn("openai", {"messages": [{"role": "tool", "content": "1"}]})
    tool_result = [{"type": "tool_result", "tool_use_id": "t", "content": "1"}]
    assert not last_is_user_turn(
        "anthropic", {"messages": [{"role": "user", "content": tool_result}]}
    )
    assert last_is_user_turn("responses", {"input": "hi"})
    output = [{"type": "function_call_output", "call_id": "c", "output": "1"}]
    assert not last_is_user_turn("responses", {"input": output})
