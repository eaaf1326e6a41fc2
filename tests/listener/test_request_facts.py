"""Per-request facts are computed once: the routed path of a request is worked out one time
on the agent listener and on the model gateway, then passed to what needs it."""

from __future__ import annotations

import sys
from typing import Any

import anyio
import httpx2
import pytest

from plano_asgi import _asgi
from plano_asgi.gateway.app import ModelGateway
from tests.gateway.fakes import FakeProvider
from tests.gateway.helpers import make_config, provider
from tests.listener.agents import FakeAgent
from tests.listener.conftest import listener_config
from tests.listener.support import fakes, listener, user
from tests.support.servers import serve

pytestmark = pytest.mark.anyio


@pytest.fixture
def route_path_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, str]]:
    """Every ``route_path`` call made by our modules, as ``(server, path)`` of its scope."""
    calls: list[tuple[Any, str]] = []
    original = _asgi.route_path

    def counting(scope: Any) -> str:
        calls.append((scope.get("server"), scope["path"]))
        return original(scope)

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.startswith("plano_") and getattr(module, "route_path", None) is original:
            monkeypatch.setattr(module, "route_path", counting)
    return calls


async def test_the_agent_listener_routes_the_path_once_per_request(
    route_path_calls: list[tuple[Any, str]],
) -> None:
    weather = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=weather) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                reply = await srv.api.chat.completions.create(
                    model="m", messages=[user("rain in Paris?")]
                )
                port = int(srv.url.rsplit(":", 1)[1])
    assert reply.choices[0].message.content == "weather says: rain in Paris?"
    ours = [path for server, path in route_path_calls if server and server[1] == port]
    assert ours == ["/v1/chat/completions"]


async def test_the_agent_listener_routes_a_responses_request_once(
    route_path_calls: list[tuple[Any, str]],
) -> None:
    weather = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=weather) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                reply = await srv.api.responses.create(model="m", input="rain in Paris?")
                port = int(srv.url.rsplit(":", 1)[1])
    assert reply.output_text == "weather says: rain in Paris?"
    ours = [path for server, path in route_path_calls if server and server[1] == port]
    assert ours == ["/v1/responses"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/responses", {"input": "hi"}),
    ],
)
async def test_the_model_gateway_routes_the_path_once_per_request(
    route_path_calls: list[tuple[Any, str]], path: str, body: dict[str, Any]
) -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with ModelGateway(None, config=config) as gateway, serve(gateway) as srv:
                async with httpx2.AsyncClient(base_url=srv.url) as http:
                    response = await http.post(path, json={"model": "gpt-4o", **body})
                port = int(srv.url.rsplit(":", 1)[1])
    assert response.status_code == 200, response.text
    ours = [p for server, p in route_path_calls if server and server[1] == port]
    assert ours == [path]
