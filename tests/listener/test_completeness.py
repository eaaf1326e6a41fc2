"""No silent truncation: an incomplete or failed agent reply never reaches the client as success.

Each agent here misbehaves on a real socket (uvicorn, or a bare TCP server for a
close-delimited body); the assertions are on what the official ``openai`` client sees.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import openai
import pytest
from starlette.types import ASGIApp

from tests.listener.agents import FakeAgent
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.misbehaving import DONE, Scripted, chunk, close_delimited, raw_http
from tests.listener.support import Listening, fakes, listener, user

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"
SECRET = "sk-live-0123456789abcdefSECRET"


@asynccontextmanager
async def one_agent(
    agent: ASGIApp | None = None, *, url: str | None = None, **listener_options: Any
) -> AsyncIterator[Listening]:
    """A listener in front of one agent ``weather`` (an app served by uvicorn, or a URL)."""
    if url is not None:
        async with listener(
            listener_config({"weather": url}, listener=listener_options or None)
        ) as srv:
            yield srv
        return
    async with fakes(weather=agent) as urls:
        config = listener_config({"weather": urls["weather"]}, listener=listener_options or None)
        async with listener(config) as srv:
            yield srv


async def stream_text(srv: Listening) -> tuple[list[str], BaseException | None]:
    """The content pieces the openai client yields, and what it raised at the end."""
    pieces: list[str] = []
    stream = await srv.api.chat.completions.create(model="m", messages=[user("hi")], stream=True)
    try:
        async for part in stream:
            if part.choices:
                pieces.append(part.choices[0].delta.content or "")
    except openai.APIError as exc:
        return pieces, exc
    return pieces, None


async def raw_stream(srv: Listening) -> list[str]:
    """The events of a streamed answer as the wire carries them."""
    async with httpx2.AsyncClient() as http:
        response = await http.post(srv.url + CHAT, json={"messages": [user("hi")], "stream": True})
    assert response.status_code == 200
    return [block for block in response.text.split("\n\n") if block]


def error_event(events: list[str]) -> dict[str, Any]:
    assert not any(e == "data: [DONE]" for e in events)
    error = json.loads(events[-1].removeprefix("data: "))["error"]
    assert isinstance(error, dict)
    return error


HELLO = [chunk("Hel", role="assistant"), chunk("lo")]

CUT_STREAMS = [
    pytest.param(Scripted(HELLO, end="clean"), "without [DONE]", id="no-done"),
    pytest.param(Scripted(HELLO, end="die"), "broke off", id="socket-closed"),
    pytest.param(
        Scripted([*HELLO, b'data: {"choices": [{"delta"'], end="clean"),
        "in the middle of an event",
        id="mid-event",
    ),
]


@pytest.mark.parametrize(("agent", "what"), CUT_STREAMS)
async def test_cut_stream_ends_with_one_error_event_for_a_streaming_client(
    agent: Scripted, what: str
) -> None:
    with anyio.fail_after(10):
        async with one_agent(agent) as srv:
            pieces, raised = await stream_text(srv)
            events = await raw_stream(srv)
    assert pieces == ["Hel", "lo"]
    assert isinstance(raised, openai.APIError)
    assert what in raised.message
    assert "'weather'" in raised.message
    error = error_event(events)
    assert (error["hop"], error["target"]) == ("agent", "weather")
    assert len(events) == 3  # the two chunks, then the one error event


@pytest.mark.parametrize(("agent", "what"), CUT_STREAMS)
async def test_cut_stream_is_502_for_a_non_streaming_client(agent: Scripted, what: str) -> None:
    with anyio.fail_after(10):
        async with one_agent(agent) as srv:
            with pytest.raises(openai.InternalServerError) as info:
                await srv.api.chat.completions.create(model="m", messages=[user("hi")])
    assert info.value.status_code == 502
    assert what in info.value.message
    body = info.value.body
    assert isinstance(body, dict)
    assert (body["hop"], body["target"]) == ("agent", "weather")


async def test_close_delimited_stream_cut_short_is_an_error_event() -> None:
    body = chunk("Hel", role="assistant") + chunk("lo")  # then the socket closes: no [DONE]
    with anyio.fail_after(10):
        async with raw_http(close_delimited("text/event-stream"), body) as url:
            async with one_agent(url=url) as srv:
                pieces, raised = await stream_text(srv)
    assert pieces == ["Hel", "lo"]
    assert isinstance(raised, openai.APIError)
    assert "without [DONE]" in raised.message


async def test_close_delimited_stream_with_done_is_complete() -> None:
    body = chunk("Hel", role="assistant") + chunk("lo", finish="stop") + DONE
    with anyio.fail_after(10):
        async with raw_http(close_delimited("text/event-stream"), body) as url:
            async with one_agent(url=url) as srv:
                pieces, raised = await stream_text(srv)
    assert raised is None
    assert "".join(pieces) == "Hello"


JSON_ANSWER = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "agent-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}
        ],
    }
).encode()


@pytest.mark.parametrize("stream", [False, True], ids=["json-client", "stream-client"])
@pytest.mark.parametrize(
    ("agent", "what"),
    [
        pytest.param(
            Scripted(
                [JSON_ANSWER[:40]],
                content_type="application/json",
                content_length=len(JSON_ANSWER),
                end="clean",
            ),
            "broke off",
            id="shorter-than-content-length",
        ),
        pytest.param(
            Scripted([b"{not json"], content_type="application/json"),
            "is cut short or not JSON",
            id="unparsable",
        ),
        pytest.param(
            Scripted([b'{"object": "list"}'], content_type="application/json"),
            "not a chat completion",
            id="not-a-completion",
        ),
    ],
)
async def test_cut_or_bad_json_reply_is_502_naming_the_agent(
    agent: Scripted, what: str, stream: bool
) -> None:
    with anyio.fail_after(10):
        async with one_agent(agent) as srv:
            with pytest.raises(openai.InternalServerError) as info:
                await srv.api.chat.completions.create(
                    model="m", messages=[user("hi")], stream=stream
                )
    assert info.value.status_code == 502
    assert what in info.value.message
    assert "'weather'" in info.value.message


async def test_close_delimited_json_cut_short_is_502() -> None:
    with anyio.fail_after(10):
        async with raw_http(close_delimited("application/json"), JSON_ANSWER[:50]) as url:
            async with one_agent(url=url) as srv:
                with pytest.raises(openai.InternalServerError) as info:
                    await srv.api.chat.completions.create(model="m", messages=[user("hi")])
    assert "cut short" in info.value.message


def envelope(text: str) -> bytes:
    return json.dumps({"error": {"message": text, "type": "agent_error"}}).encode()


def message(error: openai.APIStatusError) -> str:
    """The ``error.message`` of the envelope the client got."""
    body = error.body
    assert isinstance(body, dict)
    return str(body["message"])


async def test_agent_5xx_is_502_with_the_agents_own_message_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent = Scripted(
        [envelope(f"OPENAI_API_KEY is invalid: {SECRET}")],
        status=500,
        content_type="application/json",
    )
    caplog.set_level(logging.INFO, logger="plano_asgi")
    with anyio.fail_after(10):
        async with one_agent(agent) as srv:
            with pytest.raises(openai.InternalServerError) as info:
                await srv.api.chat.completions.create(model="m", messages=[user("hi")])
    assert info.value.status_code == 502
    assert message(info.value) == (
        "Agent 'weather' failed with HTTP 500: OPENAI_API_KEY is invalid: [redacted]."
    )
    assert SECRET not in json.dumps(info.value.body)
    # The log line says what happened, and names the hop.
    lines = [r.getMessage() for r in caplog.records if r.name == "plano_asgi.listener"]
    assert any("at agent 'weather'" in line and "HTTP 500" in line for line in lines)
    assert not any(SECRET in r.getMessage() for r in caplog.records)
    assert not any("client left" in line for line in lines)


@pytest.mark.parametrize("stream", [False, True], ids=["json-client", "stream-client"])
async def test_agent_200_with_an_error_body_is_502_with_its_message(stream: bool) -> None:
    agent = Scripted([envelope("quota exhausted")], content_type="application/json")
    with anyio.fail_after(10):
        async with one_agent(agent) as srv:
            with pytest.raises(openai.InternalServerError) as info:
                await srv.api.chat.completions.create(
                    model="m", messages=[user("hi")], stream=stream
                )
    assert message(info.value) == "Agent 'weather' reported an error: quota exhausted."


async def test_error_event_inside_an_agent_stream_ends_the_answer_with_it() -> None:
    agent = Scripted(
        [chunk("Hel", role="assistant"), b"data: " + envelope("model overloaded") + b"\n\n"]
    )
    with anyio.fail_after(10):
        async with one_agent(agent) as srv:
            pieces, raised = await stream_text(srv)
    assert pieces == ["Hel"]
    assert isinstance(raised, openai.APIError)
    assert raised.message == "Agent 'weather' reported an error: model overloaded."


async def test_agent_4xx_without_an_envelope_still_reaches_the_client_as_an_envelope() -> None:
    agent = Scripted([b"context too long"], status=413, content_type="text/plain")
    with anyio.fail_after(10):
        async with one_agent(agent) as srv:
            with pytest.raises(openai.APIStatusError) as info:
                await srv.api.chat.completions.create(model="m", messages=[user("hi")])
    assert info.value.status_code == 413
    assert message(info.value) == "context too long"


async def ask(srv: Listening, *, stream: bool) -> str:
    """One turn through the openai client, read to the end; returns the text."""
    if not stream:
        reply = await srv.api.chat.completions.create(model="m", messages=[user("hi")])
        return reply.choices[0].message.content or ""
    parts = await srv.api.chat.completions.create(model="m", messages=[user("hi")], stream=True)
    return "".join([p.choices[0].delta.content or "" async for p in parts if p.choices])


@pytest.mark.parametrize("answers", ["all", "last"])
@pytest.mark.parametrize("stream", [False, True], ids=["json-client", "stream-client"])
async def test_incomplete_intermediate_reply_stops_the_chain(answers: str, stream: bool) -> None:
    weather = Scripted([chunk("Rain", role="assistant")], end="die")
    flights = FakeAgent("flights")
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                listener={"answers": answers},
            )
            router = ScriptedRouter(("weather", "flights"))
            async with listener(config, router=router) as srv:
                with pytest.raises(openai.APIError) as info:
                    await ask(srv, stream=stream)
    assert "Agent 'weather' broke off its reply" in info.value.message
    assert flights.seen == []  # the cut text never reached the next agent
