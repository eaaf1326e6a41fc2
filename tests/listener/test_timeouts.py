"""Per-agent ``timeouts`` merge field by field over the listener's ``timeouts``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anyio
import httpx2
import openai
import pytest

from plano_asgi.config import HopTimeouts
from plano_asgi.middleware import PlanoMiddleware
from tests.listener.agents import FakeAgent
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.misbehaving import Scripted, chunk
from tests.listener.support import fakes, listener, user

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"


@pytest.mark.parametrize(
    ("listener_timeouts", "agent_timeouts", "expected"),
    [
        pytest.param(
            {"connect": "1s", "idle": "2s"},
            {"first_byte": "90s"},
            HopTimeouts(connect=1.0, first_byte=90.0, idle=2.0),
            id="agent-adds-one-field",
        ),
        pytest.param(
            {"idle": "2s"},
            {"idle": "30s", "connect": "3s"},
            HopTimeouts(connect=3.0, first_byte=60.0, idle=30.0),
            id="agent-wins-where-both-set",
        ),
        pytest.param(None, {"idle": "7s"}, HopTimeouts(idle=7.0), id="defaults-under-agent"),
        pytest.param({"connect": "1s"}, None, HopTimeouts(connect=1.0), id="listener-only"),
    ],
)
def test_agent_timeouts_merge_over_the_listener(
    listener_timeouts: dict[str, str] | None,
    agent_timeouts: dict[str, str] | None,
    expected: HopTimeouts,
) -> None:
    config = listener_config(
        {"weather": "http://127.0.0.1:9"},
        listener={"timeouts": listener_timeouts} if listener_timeouts else None,
        agent_extra={"weather": {"timeouts": agent_timeouts}} if agent_timeouts else None,
    )
    middleware = PlanoMiddleware(None, config=config)
    assert middleware.runtime.targets["weather"].timeouts == expected


async def test_listener_idle_timeout_still_applies_when_the_agent_sets_only_connect() -> None:
    never = asyncio.Event()
    agent = FakeAgent("weather", gate=never)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config(
                {"weather": url["weather"]},
                listener={"timeouts": {"idle": "300ms"}},
                agent_extra={"weather": {"timeouts": {"connect": "2s"}}},
            )
            async with listener(config) as srv, httpx2.AsyncClient() as http:
                response = await http.post(
                    srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
                )
                never.set()
    events = [block for block in response.text.split("\n\n") if block]
    assert response.status_code == 200
    assert len(events) == 2
    assert json.loads(events[1].removeprefix("data: "))["error"]["code"] == "upstream_timeout"


def events_of(response: httpx2.Response) -> list[str]:
    return [block for block in response.text.split("\n\n") if block]


async def test_pings_are_not_progress_so_a_pinging_agent_hits_the_idle_timeout() -> None:
    agent = Scripted([chunk("Hel", role="assistant")], end="ping", every=0.05)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config(
                {"weather": url["weather"]}, listener={"timeouts": {"idle": "400ms"}}
            )
            async with listener(config) as srv:
                stream = await srv.api.chat.completions.create(
                    model="m", messages=[user("hi")], stream=True
                )
                with pytest.raises(openai.APIError) as info:
                    async for _ in stream:
                        pass
                async with httpx2.AsyncClient() as http:
                    response = await http.post(
                        srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
                    )
    assert "did not send any data within 0.4s (pings do not count)" in info.value.message
    events = events_of(response)
    assert ": ping" in events  # pings are passed on: they keep the client's proxies open
    error = json.loads(events[-1].removeprefix("data: "))["error"]
    assert (error["code"], error["target"]) == ("upstream_timeout", "weather")


async def test_total_bounds_a_stream_that_never_ends() -> None:
    agent = Scripted([chunk("", role="assistant")], end="data", every=0.05)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config(
                {"weather": url["weather"]},
                agent_extra={"weather": {"timeouts": {"total": "600ms", "idle": "5s"}}},
            )
            async with listener(config) as srv, httpx2.AsyncClient() as http:
                response = await http.post(
                    srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
                )
    events = events_of(response)
    assert len(events) > 3  # data kept coming until the total ran out
    error = json.loads(events[-1].removeprefix("data: "))["error"]
    assert error["message"] == "Agent 'weather' did not send its whole reply within 0.6s."


class SlowRouter:
    name = "slow"

    async def route(self, messages: Any, agents: Any) -> Any:
        await anyio.sleep(30)
        raise AssertionError("not reached")


class SlowFilter:
    id = "guard"
    on_error = "fail"

    async def apply(self, payload: dict[str, Any], call: Any) -> dict[str, Any]:
        await anyio.sleep(30)
        return payload

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize(
    ("hop", "target"),
    [("agent", "weather"), ("router", "slow"), ("filter", "guard")],
)
async def test_listener_timeout_bounds_the_turn_until_the_answer_starts(
    hop: str, target: str
) -> None:
    never = asyncio.Event()
    weather = FakeAgent("weather", hold_headers=never if hop == "agent" else None)
    flights = FakeAgent("flights")
    options: dict[str, Any] = {}
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                filters=[{"id": "guard", "url": "http://127.0.0.1:9", "type": "http"}],
                listener={
                    "timeout": "400ms",
                    **({"input_filters": ["guard"]} if hop == "filter" else {}),
                },
            )
            if hop == "router":
                options["router"] = SlowRouter()
            else:
                options["router"] = ScriptedRouter(("weather",))
            if hop == "filter":
                options["filters"] = {"guard": SlowFilter()}
            async with listener(config, **options) as srv:
                with pytest.raises(openai.APIStatusError) as info:
                    await srv.api.chat.completions.create(
                        model="m", messages=[user("hi")], stream=True
                    )
                never.set()
    assert info.value.status_code == 504
    body = info.value.body
    assert isinstance(body, dict)
    assert (body["hop"], body["target"], body["code"]) == (hop, target, "upstream_timeout")
    assert f"waiting for {hop} '{target}'" in body["message"]


async def test_listener_timeout_does_not_cut_a_stream_that_has_started() -> None:
    gate = asyncio.Event()
    agent = FakeAgent("weather", gate=gate)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config({"weather": url["weather"]}, listener={"timeout": "200ms"})
            async with listener(config) as srv:
                stream = await srv.api.chat.completions.create(
                    model="m", messages=[user("hi")], stream=True
                )
                pieces = []
                async for part in stream:
                    pieces.append(part.choices[0].delta.content or "")
                    if len(pieces) == 1:
                        await anyio.sleep(0.6)  # well past the listener's timeout
                        gate.set()
    assert "".join(pieces) == "weather says: hi"
