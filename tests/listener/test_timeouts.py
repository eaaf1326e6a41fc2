"""Per-agent ``timeouts`` merge field by field over the listener's ``timeouts``."""

from __future__ import annotations

import asyncio
import json

import anyio
import httpx
import pytest

from plano_asgi.config import HopTimeouts
from plano_asgi.middleware import PlanoMiddleware
from tests.listener.agents import FakeAgent
from tests.listener.conftest import listener_config
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
            async with listener(config) as srv, httpx.AsyncClient() as http:
                response = await http.post(
                    srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
                )
                never.set()
    events = [block for block in response.text.split("\n\n") if block]
    assert response.status_code == 200
    assert len(events) == 2
    assert json.loads(events[1].removeprefix("data: "))["error"]["code"] == "upstream_timeout"
