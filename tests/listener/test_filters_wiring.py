"""Filter chains on the agent listener: listener-level before routing, per-agent before a call."""

from __future__ import annotations

from typing import Any, Literal

import anyio
import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plano_asgi.errors import FilterRejectedError
from plano_asgi.filters.base import FilterCall
from tests.listener.agents import FakeAgent
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.support import fakes, listener, user

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"
FILTERS = [
    {"id": "guard", "url": "http://127.0.0.1:9", "type": "http"},
    {"id": "redact", "url": "http://127.0.0.1:9", "type": "http"},
    {"id": "context", "url": "http://127.0.0.1:9", "type": "http"},
]


class Recording:
    """A filter built in code: records calls, rewrites with ``rewrite``."""

    on_error: Literal["fail", "allow"] = "fail"

    def __init__(self, id: str, rewrite: Any) -> None:
        self.id = id
        self.rewrite = rewrite
        self.calls: list[tuple[dict[str, Any], FilterCall]] = []

    async def apply(self, payload: dict[str, Any], call: FilterCall) -> dict[str, Any] | None:
        self.calls.append((payload, call))
        result: dict[str, Any] = self.rewrite(payload)
        return result

    async def aclose(self) -> None:
        return None


def block_hacks(payload: dict[str, Any]) -> dict[str, Any]:
    if "hack" in payload["messages"][-1]["content"]:
        raise FilterRejectedError("guard", 403, "content_blocked")
    return payload


def redact(payload: dict[str, Any]) -> dict[str, Any]:
    messages = [
        {**m, "content": str(m["content"]).replace("4111-1111", "[card]")}
        for m in payload["messages"]
    ]
    return {**payload, "messages": messages}


def add_context(payload: dict[str, Any]) -> dict[str, Any]:
    context = {"role": "system", "content": "flight context"}
    return {**payload, "messages": [context, *payload["messages"]]}


async def test_listener_filter_rejection_stops_before_routing() -> None:
    guard = Recording("guard", block_hacks)
    router = ScriptedRouter()
    agent = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=agent, flights=FakeAgent("flights")) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                filters=FILTERS,
                listener={"input_filters": ["guard"]},
            )
            async with (
                listener(config, router=router, filters={"guard": guard}) as srv,
                httpx2.AsyncClient() as http,
            ):
                response = await http.post(
                    srv.url + CHAT,
                    json={"messages": [user("please hack the airline")]},
                    headers={"authorization": "Bearer nope", "x-request-id": "r-1"},
                )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["filter"] == "guard"
    assert "content_blocked" in error["message"]
    assert router.calls == []
    assert agent.seen == []
    payload, call = guard.calls[0]
    assert set(payload) == {"model", "messages"}
    assert call.path == CHAT
    assert call.request_id == "r-1"
    assert call.headers["x-request-id"] == "r-1"
    assert "authorization" not in call.headers


async def test_listener_filter_output_is_what_router_and_agents_see() -> None:
    router = ScriptedRouter(("weather", "flights"))
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    filters = {"redact": Recording("redact", redact), "context": Recording("context", add_context)}
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                filters=FILTERS,
                listener={"input_filters": ["redact"]},
                agent_filters={"flights": ["context"]},
            )
            async with listener(config, router=router, filters=filters) as srv:
                reply = await srv.api.chat.completions.create(
                    model="m", messages=[user("card 4111-1111, weather then flights")]
                )
    assert router.calls == [["card [card], weather then flights"]]
    assert weather.seen[0].messages == [user("card [card], weather then flights")]
    # The per-agent filter applies to that agent's call only.
    assert flights.seen[0].messages == [
        {"role": "system", "content": "flight context"},
        {
            "role": "assistant",
            "content": "weather says: card [card], weather then flights",
            "name": "weather",
        },
        user("card [card], weather then flights"),
    ]
    # Both answers reach the client (listener ``answers: all``, the default).
    assert reply.choices[0].message.content == (
        "weather says: card [card], weather then flights\n\n"
        "flights says: card [card], weather then flights"
    )


async def test_filter_returning_no_messages_is_502_naming_the_chain() -> None:
    broken = Recording("context", lambda payload: {"model": payload["model"]})
    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather")) as url:
            config = listener_config(
                {"weather": url["weather"]},
                filters=FILTERS,
                agent_filters={"weather": ["context"]},
            )
            async with (
                listener(config, filters={"context": broken}) as srv,
                httpx2.AsyncClient() as http,
            ):
                response = await http.post(srv.url + CHAT, json={"messages": [user("hi")]})
    assert response.status_code == 502
    assert response.json()["error"]["target"] == "context"


async def test_configured_http_filter_runs_through_the_registry() -> None:
    bodies: list[dict[str, Any]] = []

    async def shout(request: Request) -> JSONResponse:
        body = await request.json()
        bodies.append(body)
        messages = [{**m, "content": str(m["content"]).upper()} for m in body["messages"]]
        return JSONResponse({**body, "messages": messages})

    filter_app = Starlette(routes=[Route("/shout/v1/chat/completions", shout, methods=["POST"])])
    agent = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=agent, filt=filter_app) as url:
            config = listener_config(
                {"weather": url["weather"]},
                filters=[{"id": "shout", "url": url["filt"] + "/shout", "type": "http"}],
                agent_filters={"weather": ["shout"]},
            )
            async with listener(config) as srv:
                reply = await srv.api.chat.completions.create(model="m", messages=[user("hi")])
    assert bodies == [{"model": "m", "messages": [user("hi")]}]
    assert agent.seen[0].messages == [user("HI")]
    assert reply.choices[0].message.content == "weather says: HI"
