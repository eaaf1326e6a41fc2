"""The listener in front of a FastAPI app: its endpoints answer, the app's routes stay the app's."""

from __future__ import annotations

import anyio
import httpx2
import pytest
from fastapi import FastAPI

from plano_asgi.middleware import PlanoMiddleware
from tests.listener.agents import FakeAgent
from tests.listener.conftest import listener_config
from tests.listener.support import client, fakes, user
from tests.support.servers import serve

pytestmark = pytest.mark.anyio


async def test_fastapi_add_middleware_serves_listener_and_app_routes() -> None:
    weather = FakeAgent("weather")
    with anyio.fail_after(15):
        async with fakes(weather=weather) as url:
            config = listener_config({"weather": url["weather"]})
            app = FastAPI()

            @app.get("/items/{item}")
            async def item(item: str) -> dict[str, str]:
                return {"item": item}

            app.add_middleware(PlanoMiddleware, config=config)
            async with (
                serve(app, lifespan="on") as srv,
                client(srv.url) as api,
                httpx2.AsyncClient() as http,
            ):
                answer = await api.chat.completions.with_raw_response.create(
                    model="m", messages=[user("hello")]
                )
                stream = await api.chat.completions.create(
                    model="m", messages=[user("again")], stream=True
                )
                pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
                own = await http.get(srv.url + "/items/42")
                docs = await http.get(srv.url + "/openapi.json")
                models = await http.get(srv.url + "/v1/models")
    completion = answer.parse()
    assert completion.choices[0].message.content == "weather says: hello"
    assert answer.headers["x-plano-agents"] == "weather"
    assert "".join(pieces) == "weather says: again"
    assert own.json() == {"item": "42"}
    assert "/items/{item}" in docs.json()["paths"]
    assert [m["id"] for m in models.json()["data"]] == ["weather"]
    assert [seen.body["messages"][-1]["content"] for seen in weather.seen] == ["hello", "again"]
