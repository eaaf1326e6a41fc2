"""The answer comes in the shape the client asked for, and every selected agent's answer shows.

Checked with the official ``openai`` client against agents on real uvicorn servers.
"""

from __future__ import annotations

import json

import anyio
import httpx2
import pytest
from openai.types.chat import ChatCompletion

from tests.listener.agents import FakeAgent
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.misbehaving import DONE, PING, Scripted, chunk
from tests.listener.support import fakes, listener, user

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"
CALL = {
    "index": 0,
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":'},
}
MORE = {"index": 0, "function": {"arguments": ' "Paris"}'}}
USAGE = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}


async def test_streaming_agent_gives_a_non_streaming_client_one_chat_completion() -> None:
    agent = Scripted(
        [
            chunk("", role="assistant"),
            PING,
            chunk("Let me "),
            chunk("check.", tool_calls=[CALL]),
            chunk(tool_calls=[MORE], finish="tool_calls"),
            chunk(usage=USAGE),
            DONE,
        ]
    )
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                raw = await srv.api.chat.completions.with_raw_response.create(
                    model="m", messages=[user("weather?")]
                )
                reply = raw.parse()
    assert raw.headers["content-type"] == "application/json"
    assert isinstance(reply, ChatCompletion)
    assert reply.object == "chat.completion"
    assert reply.id == "chatcmpl-agent"
    choice = reply.choices[0]
    assert choice.message.content == "Let me check."
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert (call.id, call.function.name) == ("call_1", "get_weather")  # type: ignore[union-attr]
    assert call.function.arguments == '{"city": "Paris"}'  # type: ignore[union-attr]
    assert reply.usage is not None
    assert reply.usage.total_tokens == 12
    assert agent.seen[0].body.get("stream") is None  # the agent was asked as the client asked


async def test_json_agent_gives_a_streaming_client_a_chunk_stream_ending_in_done() -> None:
    agent = FakeAgent("weather", json_when_streaming=True)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                stream = await srv.api.chat.completions.create(
                    model="m", messages=[user("hi")], stream=True
                )
                chunks = [part async for part in stream]
                async with httpx2.AsyncClient() as http:
                    response = await http.post(
                        srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
                    )
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.endswith("data: [DONE]\n\n")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "weather says: hi"
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert finishes.count("stop") == 1
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 2


def two_agents() -> tuple[Scripted, Scripted, ScriptedRouter]:
    """Two streaming agents that each end their answer properly (finish, usage, [DONE])."""

    def answer(*pieces: str) -> Scripted:
        first, *rest = pieces
        return Scripted(
            [
                chunk(first, role="assistant"),
                *[chunk(piece) for piece in rest],
                chunk(finish="stop"),
                chunk(usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}),
                DONE,
            ]
        )

    return (
        answer("Sunny", " in Rome."),
        answer("AZ1 ", "at 9:00."),
        ScriptedRouter(("weather", "flights")),
    )


async def test_every_agents_answer_is_streamed_in_order_and_marked() -> None:
    weather, flights, router = two_agents()
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config({"weather": url["weather"], "flights": url["flights"]})
            async with listener(config, router=router) as srv:
                stream = await srv.api.chat.completions.create(
                    model="m", messages=[user("weather and flights to Rome?")], stream=True
                )
                chunks = [part async for part in stream]
    marks = [(c.model_extra or {}).get("agent") for c in chunks]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Sunny in Rome.\n\nAZ1 at 9:00."
    # Every chunk is marked: all of weather's first, then all of flights'.
    changes = [mark for i, mark in enumerate(marks) if i == 0 or marks[i - 1] != mark]
    assert changes == ["weather", "flights"]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes.count("stop") == 1
    assert finishes[-1] == "stop"
    # The later agent still sees the earlier answer, named, before the question.
    assert flights.seen[0].messages[-2] == {
        "role": "assistant",
        "content": "Sunny in Rome.",
        "name": "weather",
    }


async def test_every_agents_answer_is_in_one_completion_for_a_non_streaming_client() -> None:
    weather, flights, router = two_agents()
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config({"weather": url["weather"], "flights": url["flights"]})
            async with listener(config, router=router) as srv:
                reply = await srv.api.chat.completions.create(
                    model="m", messages=[user("weather and flights to Rome?")]
                )
    assert reply.choices[0].message.content == "Sunny in Rome.\n\nAZ1 at 9:00."
    assert (reply.model_extra or {})["answers"] == [
        {"agent": "weather", "content": "Sunny in Rome."},
        {"agent": "flights", "content": "AZ1 at 9:00."},
    ]
    assert reply.usage is not None
    assert reply.usage.total_tokens == 4


async def test_answers_last_keeps_plano_behaviour_and_relays_the_agent_verbatim() -> None:
    weather, flights, router = two_agents()
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                listener={"answers": "last"},
            )
            async with listener(config, router=router) as srv, httpx2.AsyncClient() as http:
                response = await http.post(
                    srv.url + CHAT,
                    json={"messages": [user("weather and flights?")], "stream": True},
                )
    events = [block for block in response.text.split("\n\n") if block]
    datas = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert events[-1] == "data: [DONE]"
    text = "".join(d["choices"][0]["delta"].get("content", "") for d in datas if d["choices"])
    assert text == "AZ1 at 9:00."
    assert all("agent" not in d for d in datas)
    assert flights.seen[0].messages[-2]["name"] == "weather"
