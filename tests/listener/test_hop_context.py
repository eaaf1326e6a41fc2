"""``traceparent`` and ``x-request-id`` reach agents and filters, tracing on or off; and a
filter reply that breaks off is refused like an agent's."""

from __future__ import annotations

from typing import Any

import anyio
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plano_asgi.telemetry.propagation import valid_traceparent
from tests.listener.agents import FakeAgent
from tests.listener.conftest import listener_config
from tests.listener.misbehaving import Scripted, close_delimited, raw_http
from tests.listener.support import fakes, listener, user

pytestmark = pytest.mark.anyio

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def recording_filter(seen: list[dict[str, str]]) -> Starlette:
    async def passthrough(request: Request) -> JSONResponse:
        seen.append(dict(request.headers))
        return JSONResponse(await request.json())

    return Starlette(routes=[Route("/f/v1/chat/completions", passthrough, methods=["POST"])])


@pytest.mark.parametrize("client_trace", [True, False], ids=["client-trace", "no-client-trace"])
async def test_agents_and_filters_get_traceparent_and_request_id_with_tracing_off(
    client_trace: bool,
) -> None:
    filter_seen: list[dict[str, str]] = []
    agent = FakeAgent("weather")
    headers = {"x-request-id": "req-77"}
    if client_trace:
        headers["traceparent"] = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    with anyio.fail_after(10):
        async with fakes(weather=agent, filt=recording_filter(filter_seen)) as url:
            config = listener_config(
                {"weather": url["weather"]},
                filters=[{"id": "f", "url": url["filt"] + "/f", "type": "http"}],
                agent_filters={"weather": ["f"]},
            )
            assert config.tracing is None  # tracing is off in this config
            async with listener(config) as srv:
                await srv.api.chat.completions.create(
                    model="m", messages=[user("hi")], extra_headers=headers
                )
    hops = [agent.seen[0].headers, filter_seen[0]]
    assert [hop["x-request-id"] for hop in hops] == ["req-77", "req-77"]
    parents = [hop["traceparent"] for hop in hops]
    assert all(valid_traceparent(parent) for parent in parents)
    trace_ids = {parent.split("-")[1] for parent in parents}
    assert len(trace_ids) == 1  # one trace across the hops
    if client_trace:
        assert trace_ids == {TRACE_ID}


@pytest.mark.parametrize(
    "cut",
    ["shorter-than-content-length", "close-delimited"],
)
async def test_filter_reply_cut_short_is_502_naming_the_filter(cut: str) -> None:
    whole = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    agent = FakeAgent("weather")

    async def run(filter_url: str, **apps: Any) -> openai.InternalServerError:
        async with fakes(weather=agent, **apps) as url:
            config = listener_config(
                {"weather": url["weather"]},
                filters=[{"id": "f", "url": filter_url or url["filt"], "type": "http"}],
                agent_filters={"weather": ["f"]},
            )
            async with listener(config) as srv:
                with pytest.raises(openai.InternalServerError) as info:
                    await srv.api.chat.completions.create(model="m", messages=[user("hi")])
        return info.value

    with anyio.fail_after(10):
        if cut == "close-delimited":
            async with raw_http(close_delimited("application/json"), whole[:30]) as raw_url:
                error = await run(raw_url)
            what = "not JSON"
        else:
            cut_filter = Scripted(
                [whole[:30]], content_type="application/json", content_length=len(whole)
            )
            error = await run("", filt=cut_filter)
            what = "broke off its reply"
    body = error.body
    assert isinstance(body, dict)
    assert (body["hop"], body["target"]) == ("filter", "f")
    assert what in str(body["message"])
    assert agent.seen == []  # a cut filter reply never becomes the agent's input
