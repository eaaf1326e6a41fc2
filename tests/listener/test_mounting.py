"""Where the middleware lives: wrapped around an app, in ``Middleware(...)``, under ``Mount``,
alone with its own lifespan; what it passes through; which headers cross each hop."""

from __future__ import annotations

import contextvars
import json
from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from plano_asgi.middleware import PlanoMiddleware
from tests.listener.agents import FakeAgent
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.support import client, fakes, listener, user
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"


async def test_other_paths_pass_through_untouched_in_the_same_task() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    received: list[dict[str, object]] = []
    after: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        message = await receive()
        received.append(dict(message))
        var.set("set by inner app")
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-inner", b"1")]})
        await send({"type": "http.response.body", "body": b"inner:" + message.get("body", b"")})

    config = listener_config({"weather": "http://127.0.0.1:9"})
    async with PlanoMiddleware(inner, config=config) as middleware:

        async def outer(scope: Scope, receive: Receive, send: Send) -> None:
            await middleware(scope, receive, send)
            if scope["type"] == "http":
                after.append(var.get())

        with anyio.fail_after(10):
            async with serve(outer) as srv, httpx2.AsyncClient() as http:
                response = await http.post(srv.url + "/v1/embeddings", content=b"raw \x00 bytes")
    assert response.status_code == 201
    assert response.content == b"inner:raw \x00 bytes"
    assert response.headers["x-inner"] == "1"
    # The inner app got the very first body message: we never read it.
    assert received[0]["body"] == b"raw \x00 bytes"
    # No task boundary on the pass-through path: the inner app's ContextVar is visible outside.
    assert after == ["set by inner app"]


async def test_wrapped_app_keeps_streaming_and_listener_serves_its_endpoints() -> None:
    async def numbers(request: Request) -> StreamingResponse:
        async def gen() -> AsyncIterator[str]:
            for index in range(3):
                yield f"{index}\n"

        return StreamingResponse(gen(), media_type="text/plain")

    app = Starlette(routes=[Route("/numbers", numbers)])
    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather")) as url:
            config = listener_config({"weather": url["weather"]})
            async with (
                PlanoMiddleware(app, config=config) as middleware,
                serve(middleware) as srv,
                client(srv.url) as api,
                httpx2.AsyncClient() as http,
            ):
                streamed = await http.get(srv.url + "/numbers")
                reply = await api.chat.completions.create(model="m", messages=[user("hi")])
                models = await api.models.list()
                health = await http.get(srv.url + "/healthz")
    assert streamed.text == "0\n1\n2\n"
    assert reply.choices[0].message.content == "weather says: hi"
    assert [m.id for m in models.data] == ["weather"]
    assert health.json() == {"status": "ok", "listener": "travel"}


@pytest.mark.usefixtures("no_local_router")
async def test_under_mount_paths_are_relative_to_the_mount_point() -> None:
    async def home(request: Request) -> Response:
        return PlainTextResponse("home")

    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                descriptions={"weather": "Forecasts", "flights": "Bookings"},
                default="flights",
            )
            async with PlanoMiddleware(config=config) as plano:
                app = Starlette(routes=[Route("/", home), Mount("/plano", app=plano)])
                async with (
                    serve(app) as srv,
                    client(srv.url + "/plano") as api,
                    httpx2.AsyncClient() as http,
                ):
                    reply = await api.chat.completions.create(model="m", messages=[user("hi")])
                    models = await http.get(srv.url + "/plano/v1/models")
                    root_chat = await http.post(srv.url + CHAT, json={})
                    home_page = await http.get(srv.url + "/")
    assert reply.choices[0].message.content == "flights says: hi"
    assert models.json()["data"] == [
        {
            "id": "weather",
            "object": "model",
            "created": 0,
            "owned_by": "travel",
            "description": "Forecasts",
            "default": False,
        },
        {
            "id": "flights",
            "object": "model",
            "created": 0,
            "owned_by": "travel",
            "description": "Bookings",
            "default": True,
        },
    ]
    assert root_chat.status_code == 404  # only under the mount point
    assert home_page.text == "home"


async def test_inside_starlette_middleware_stack() -> None:
    async def hello(request: Request) -> Response:
        return PlainTextResponse("hello")

    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather")) as url:
            config = listener_config({"weather": url["weather"]})
            app = Starlette(
                routes=[Route("/hello", hello)],
                middleware=[Middleware(PlanoMiddleware, config=config)],
            )
            async with (
                serve(app, lifespan="on") as srv,
                client(srv.url) as api,
                httpx2.AsyncClient() as http,
            ):
                stream = await api.chat.completions.create(
                    model="m", messages=[user("yo")], stream=True
                )
                text = "".join([c.choices[0].delta.content or "" async for c in stream])
                page = await http.get(srv.url + "/hello")
    assert text == "weather says: yo"
    assert page.text == "hello"


async def test_served_alone_handles_lifespan_and_closes_what_it_owns() -> None:
    config = listener_config({"weather": "http://127.0.0.1:9"})
    owned = PlanoMiddleware(None, config=config)
    shared = httpx2.AsyncClient()
    borrowing = PlanoMiddleware(None, config=config, client=shared)
    with anyio.fail_after(10):
        async with serve(owned, lifespan="on"), serve(borrowing, lifespan="on"):
            assert not owned.client.is_closed
    assert owned.client.is_closed
    assert not shared.is_closed
    await shared.aclose()


async def test_headers_sent_to_agents_and_returned_to_client() -> None:
    agent = FakeAgent("weather")
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                raw = await srv.api.chat.completions.with_raw_response.create(
                    model="m",
                    messages=[user("hi")],
                    extra_headers={
                        "x-request-id": "req-42",
                        "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
                        "cookie": "session=s3cret",
                        "x-api-key": "k3y",
                        "x-tenant": "acme",
                        "x-arch-upstream": "spoofed",
                    },
                )
    seen = agent.seen[0].headers
    assert seen["x-request-id"] == "req-42"
    assert seen["traceparent"].split("-")[1] == trace_id
    assert seen["x-arch-upstream"] == "weather"
    assert seen["x-arch-agent-listener-name"] == "travel"
    assert seen["x-tenant"] == "acme"
    assert seen["content-type"] == "application/json"
    for secret in ("authorization", "cookie", "x-api-key"):
        assert secret not in seen
    assert seen["host"] == url["weather"].split("//")[1].split("/")[0]
    assert raw.headers["x-request-id"] == "req-42"


async def test_forward_headers_lets_chosen_credentials_through() -> None:
    agent = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config(
                {"weather": url["weather"]}, listener={"forward_headers": ["Authorization"]}
            )
            async with listener(config) as srv:
                await srv.api.chat.completions.create(
                    model="m", messages=[user("hi")], extra_headers={"cookie": "a=b"}
                )
    assert agent.seen[0].headers["authorization"] == "Bearer client-key"
    assert "cookie" not in agent.seen[0].headers


@pytest.mark.parametrize("value", ["has spaces", "x" * 300, "<script>"])
async def test_unusable_request_id_is_replaced(value: str) -> None:
    agent = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with (
                listener(listener_config({"weather": url["weather"]})) as srv,
                httpx2.AsyncClient() as http,
            ):
                response = await http.post(
                    srv.url + CHAT,
                    json={"messages": [user("hi")]},
                    headers={"x-request-id": value},
                )
    returned = response.headers["x-request-id"]
    assert returned != value
    assert len(returned) == 36
    assert agent.seen[0].headers["x-request-id"] == returned
    assert json.loads(response.text)["choices"][0]["message"]["content"] == "weather says: hi"


async def test_lifespan_startup_loads_the_router_model_off_the_event_loop() -> None:
    import threading

    loaded_in: list[str] = []

    class Loading(ScriptedRouter):
        def load(self) -> None:
            loaded_in.append(threading.current_thread().name)

    config = listener_config({"weather": "http://127.0.0.1:1", "flights": "http://127.0.0.1:2"})
    app = PlanoMiddleware(None, config=config, router=Loading())
    with anyio.fail_after(10):
        async with serve(app, lifespan="on"):
            assert len(loaded_in) == 1
    assert loaded_in[0] != threading.main_thread().name
