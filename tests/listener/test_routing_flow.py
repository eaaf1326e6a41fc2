"""Routing and chaining through real servers: the OpenAI client -> uvicorn -> PlanoMiddleware
-> uvicorn agents (and a fake orchestrator model on loopback)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from tests.listener.agents import FakeAgent, FakeOrchestrator, route_by_keyword
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.support import fakes, listener, user

pytestmark = pytest.mark.anyio


async def test_single_agent_answers_without_routing() -> None:
    weather = FakeAgent("weather")
    orchestrator = FakeOrchestrator()
    with anyio.fail_after(10):
        async with fakes(weather=weather, orch=orchestrator) as url:
            config = listener_config({"weather": url["weather"]}, orchestrator_url=url["orch"])
            async with listener(config) as srv:
                raw = await srv.api.chat.completions.with_raw_response.create(
                    model="whatever", messages=[user("rain in Paris?")]
                )
    reply = raw.parse()
    assert reply.choices[0].message.content == "weather says: rain in Paris?"
    assert raw.headers["x-plano-agents"] == "weather"
    assert raw.headers["x-plano-router"] == "single_agent"
    assert "x-plano-route-fallback" not in raw.headers
    assert orchestrator.seen == []
    assert weather.seen[0].body["model"] == "whatever"
    assert "stream" not in weather.seen[0].body  # as the client sent it


async def test_orchestrator_choice_is_used_and_called_as_configured() -> None:
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    orchestrator = FakeOrchestrator(route_by_keyword({"rain": "weather", "fly": "flights"}))
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights, orch=orchestrator) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                router="plano_orchestrator_v1",
                orchestrator_url=url["orch"],
            )
            async with listener(config) as srv:
                raw = await srv.api.chat.completions.with_raw_response.create(
                    model="m", messages=[user("I want to fly to Rome")]
                )
    assert raw.parse().choices[0].message.content == "flights says: I want to fly to Rome"
    assert raw.headers["x-plano-agents"] == "flights"
    assert raw.headers["x-plano-router"] == "plano_orchestrator_v1"
    assert weather.seen == []
    call = orchestrator.seen[0]
    assert call.body["model"] == "katanemo/Plano-Orchestrator-4B"
    assert call.body["temperature"] == 0.01
    assert [m["role"] for m in call.body["messages"]] == ["user"]
    assert call.headers["authorization"] == "Bearer orch-secret"
    # The client's own credentials never reach the router model.
    assert "client-key" not in json.dumps(call.headers)


async def test_two_agent_chain_gives_second_agent_the_first_reply() -> None:
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    orchestrator = FakeOrchestrator('{"route": ["weather", "flights"]}')
    history: list[Any] = [
        {"role": "system", "content": "be brief"},
        user("hello"),
        {"role": "assistant", "content": "hi"},
        user("rain in Rome and flights there?"),
    ]
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights, orch=orchestrator) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                router="plano_orchestrator_v1",
                orchestrator_url=url["orch"],
                listener={"answers": "last"},  # Plano's behaviour: only the last agent answers
            )
            async with listener(config) as srv:
                stream = await srv.api.chat.completions.create(
                    model="m", messages=history, stream=True
                )
                text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "flights says: rain in Rome and flights there?"
    assert weather.seen[0].messages == history
    assert weather.seen[0].body["stream"] is True
    assert flights.seen[0].messages == [
        *history[:3],
        {
            "role": "assistant",
            "content": "weather says: rain in Rome and flights there?",
            "name": "weather",
        },
        history[3],
    ]


async def test_chain_understands_json_reply_of_intermediate_agent() -> None:
    weather = FakeAgent("weather", json_when_streaming=True)
    flights = FakeAgent("flights")
    router = ScriptedRouter(("weather", "flights"))
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config({"weather": url["weather"], "flights": url["flights"]})
            async with listener(config, router=router) as srv:
                stream = await srv.api.chat.completions.create(
                    model="m", messages=[user("go")], stream=True
                )
                [c async for c in stream]
    assert flights.seen[0].messages[0] == {
        "role": "assistant",
        "content": "weather says: go",
        "name": "weather",
    }


async def test_handoff_across_turns_reroutes_every_turn() -> None:
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    orchestrator = FakeOrchestrator(route_by_keyword({"rain": "weather", "fly": "flights"}))
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights, orch=orchestrator) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                router="plano_orchestrator_v1",
                orchestrator_url=url["orch"],
            )
            async with listener(config) as srv:
                first = await srv.api.chat.completions.create(
                    model="m", messages=[user("will it rain in Oslo?")]
                )
                answer = first.choices[0].message.content
                second = await srv.api.chat.completions.with_raw_response.create(
                    model="m",
                    messages=[
                        user("will it rain in Oslo?"),
                        {"role": "assistant", "content": answer},
                        user("then I fly to Lisbon"),
                    ],
                )
    assert answer == "weather says: will it rain in Oslo?"
    assert second.headers["x-plano-agents"] == "flights"
    assert len(orchestrator.seen) == 2
    prompt = orchestrator.seen[1].body["messages"][0]["content"]
    assert "will it rain in Oslo?" in prompt
    assert "then I fly to Lisbon" in prompt


@pytest.mark.usefixtures("no_local_router")
async def test_no_matching_agent_goes_to_default_agent() -> None:
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    orchestrator = FakeOrchestrator('{"route": []}')
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights, orch=orchestrator) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                router="plano_orchestrator_v1",
                orchestrator_url=url["orch"],
                default="flights",
            )
            async with listener(config) as srv:
                raw = await srv.api.chat.completions.with_raw_response.create(
                    model="m", messages=[user("tell me a joke")]
                )
    assert raw.headers["x-plano-agents"] == "flights"
    assert raw.headers["x-plano-route-fallback"] == "no agent matched, used default agent flights"
    assert raw.parse().choices[0].message.content == "flights says: tell me a joke"


@pytest.mark.usefixtures("no_local_router")
@pytest.mark.parametrize(
    ("orchestrator", "reason"),
    [
        pytest.param(None, "unreachable", id="down"),
        pytest.param(
            FakeOrchestrator("I'd say the weather one, probably"), "not route JSON", id="garbage"
        ),
        pytest.param(
            FakeOrchestrator(status=503, raw_body=b'{"error": {"message": "overloaded"}}'),
            "HTTP 503",
            id="503",
        ),
        pytest.param(FakeOrchestrator(raw_body=b"<html>"), "not JSON", id="html"),
    ],
)
async def test_orchestrator_failure_still_answers_with_fallback_header(
    orchestrator: FakeOrchestrator | None, reason: str
) -> None:
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights, orch=orchestrator) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                router="plano_orchestrator_v1",
                orchestrator_url=url["orch"],
            )
            async with listener(config) as srv:
                raw = await srv.api.chat.completions.with_raw_response.create(
                    model="m", messages=[user("will it rain?")]
                )
    assert raw.http_response.status_code == 200
    assert raw.parse().choices[0].message.content == "weather says: will it rain?"
    assert raw.headers["x-plano-router"] == "default"
    fallback = raw.headers["x-plano-route-fallback"]
    assert fallback.startswith("plano_orchestrator_v1 failed (")
    assert reason in fallback
    assert fallback.endswith("used default agent weather")


async def test_orchestrator_timeout_falls_back_to_local_router(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = ScriptedRouter(("flights",), name="local_v1")
    monkeypatch.setattr("plano_asgi.routing.factory.load_local_router", lambda: local)
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    never = anyio.Event()
    orchestrator = FakeOrchestrator(hold=never)  # type: ignore[arg-type]
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights, orch=orchestrator) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                router="plano_orchestrator_v1",
                orchestrator_url=url["orch"],
                overrides={"orchestrator_timeout": "200ms"},
            )
            async with listener(config) as srv:
                raw = await srv.api.chat.completions.with_raw_response.create(
                    model="m", messages=[user("fly?")]
                )
                never.set()
    assert raw.headers["x-plano-agents"] == "flights"
    assert raw.headers["x-plano-router"] == "local_v1"
    assert raw.headers["x-plano-route-fallback"] == (
        "plano_orchestrator_v1 failed (timed out after 0.2s); used local_v1"
    )
    assert local.calls == [["fly?"]]


async def test_listener_without_orchestrator_model_routes_locally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = ScriptedRouter(("flights",), name="local_v1")
    monkeypatch.setattr("plano_asgi.routing.factory.load_local_router", lambda: local)
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                router="plano_orchestrator_v1",
            )
            async with listener(config) as srv:
                raw = await srv.api.chat.completions.with_raw_response.create(
                    model="m", messages=[user("fly?")]
                )
    assert raw.headers["x-plano-router"] == "local_v1"
    assert raw.headers["x-plano-agents"] == "flights"
