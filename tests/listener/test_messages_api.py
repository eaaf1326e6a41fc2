"""``/v1/messages`` on the agent listener, checked with the official ``anthropic`` client.

Agents are SDK :class:`~plano_agent_sdk.Agent` apps and fakes on real uvicorn servers; the
listener translates the Anthropic request into their chat turn and the answer back.
"""

from __future__ import annotations

from typing import Any

import anthropic
import anyio
import httpx2
import pytest

from tests.listener.agents import FakeAgent
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.misbehaving import DONE, Scripted, chunk
from tests.listener.support import fakes, listener
from tests.listener.test_responses_api import CALL, MORE, echo_agent

pytestmark = pytest.mark.anyio


def claude(url: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=url, api_key="client-key", max_retries=0)


async def test_messages_create_gets_an_anthropic_message_from_an_sdk_agent() -> None:
    agent, seen = echo_agent()
    with anyio.fail_after(10):
        async with fakes(echo=agent) as url:
            async with listener(listener_config({"echo": url["echo"]})) as srv:
                async with claude(srv.url) as client:
                    raw = await client.messages.with_raw_response.create(
                        model="claude-x",
                        max_tokens=100,
                        system="Be brief.",
                        messages=[
                            {"role": "user", "content": "Hi"},
                            {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
                            {"role": "user", "content": "weather in Rome?"},
                        ],
                    )
                    message = await raw.parse()
    assert raw.headers["x-plano-agents"] == "echo"
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.stop_reason == "end_turn"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "[Be brief.] you said: weather in Rome?"  # type: ignore[union-attr]
    assert [(m.role, m.text) for m in seen[0].messages] == [
        ("system", "Be brief."),
        ("user", "Hi"),
        ("assistant", "Hello"),
        ("user", "weather in Rome?"),
    ]


async def test_messages_stream_sends_anthropic_events_as_the_agent_streams() -> None:
    agent, _ = echo_agent()
    with anyio.fail_after(10):
        async with fakes(echo=agent) as url:
            async with listener(listener_config({"echo": url["echo"]})) as srv:
                async with claude(srv.url) as client:
                    async with client.messages.stream(
                        model="claude-x",
                        max_tokens=100,
                        messages=[{"role": "user", "content": "hello"}],
                    ) as stream:
                        pieces = [text async for text in stream.text_stream]
                        final = await stream.get_final_message()
    assert pieces == ["[] ", "you said: ", "hello"]
    assert final.content[0].text == "[] you said: hello"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"


async def test_tool_calls_come_back_as_tool_use_blocks() -> None:
    parts = [
        chunk("", role="assistant"),
        chunk("Let me check.", tool_calls=[CALL]),
        chunk(tool_calls=[MORE], finish="tool_calls"),
        chunk(usage={"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}),
        DONE,
    ]
    with anyio.fail_after(10):
        async with fakes(a=Scripted(list(parts)), b=Scripted(list(parts))) as url:
            async with listener(listener_config({"weather": url["a"]})) as srv:
                async with claude(srv.url) as client:
                    whole = await client.messages.create(
                        model="c", max_tokens=10, messages=[{"role": "user", "content": "w?"}]
                    )
            async with listener(listener_config({"weather": url["b"]})) as srv:
                async with claude(srv.url) as client:
                    async with client.messages.stream(
                        model="c", max_tokens=10, messages=[{"role": "user", "content": "w?"}]
                    ) as stream:
                        streamed = await stream.get_final_message()
    for message in (whole, streamed):
        assert [block.type for block in message.content] == ["text", "tool_use"]
        use = message.content[1]
        assert use.type == "tool_use"
        assert (use.id, use.name, use.input) == ("call_1", "get_weather", {"city": "Paris"})
        assert message.stop_reason == "tool_use"
        assert message.usage.output_tokens == 7


async def test_two_agents_answers_are_one_text_in_order() -> None:
    def answer(*pieces: str) -> Scripted:
        first, *rest = pieces
        return Scripted(
            [chunk(first, role="assistant"), *[chunk(p) for p in rest], chunk(finish="stop"), DONE]
        )

    question: Any = [{"role": "user", "content": "both?"}]
    with anyio.fail_after(10):
        async with fakes(
            w1=answer("Sunny", " in Rome."),
            f1=answer("AZ1 ", "at 9:00."),
            w2=answer("Sunny", " in Rome."),
            f2=answer("AZ1 ", "at 9:00."),
        ) as url:
            config = listener_config({"weather": url["w1"], "flights": url["f1"]})
            async with listener(config, router=ScriptedRouter(("weather", "flights"))) as srv:
                async with claude(srv.url) as client:
                    async with client.messages.stream(
                        model="c", max_tokens=10, messages=question
                    ) as stream:
                        streamed = await stream.get_final_message()
            config = listener_config({"weather": url["w2"], "flights": url["f2"]})
            async with listener(config, router=ScriptedRouter(("weather", "flights"))) as srv:
                async with claude(srv.url) as client:
                    whole = await client.messages.create(
                        model="c", max_tokens=10, messages=question
                    )
    assert streamed.content[0].text == "Sunny in Rome.\n\nAZ1 at 9:00."  # type: ignore[union-attr]
    assert whole.content[0].text == "Sunny in Rome.\n\nAZ1 at 9:00."  # type: ignore[union-attr]
    assert (whole.model_extra or {})["answers"][1] == {
        "agent": "flights",
        "content": "AZ1 at 9:00.",
    }


async def _stream_text(client: anthropic.AsyncAnthropic, pieces: list[str]) -> None:
    question: Any = [{"role": "user", "content": "hi"}]
    async with client.messages.stream(model="c", max_tokens=10, messages=question) as stream:
        async for text in stream.text_stream:
            pieces.append(text)


async def test_a_stream_broken_mid_way_ends_with_an_error_event() -> None:
    agent = FakeAgent("weather", die_after=2)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with claude(srv.url) as client:
                    pieces: list[str] = []
                    with pytest.raises(anthropic.APIStatusError) as caught:
                        await _stream_text(client, pieces)
                async with httpx2.AsyncClient() as http:
                    body = {
                        "model": "c",
                        "max_tokens": 10,
                        "stream": True,
                        "messages": [{"role": "user", "content": "hi"}],
                    }
                    raw = await http.post(srv.url + "/v1/messages", json=body)
    assert pieces == ["weather", " says: "]
    assert "Agent 'weather'" in str(caught.value)
    assert raw.text.rstrip().split("\n\n")[-1].startswith("event: error\n")
    assert "message_stop" not in raw.text


async def test_errors_are_in_anthropics_shape_with_a_status() -> None:
    agent = FakeAgent("weather", status=503)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with claude(srv.url) as client:
                    with pytest.raises(anthropic.APIStatusError) as caught:
                        await client.messages.create(
                            model="c", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
                        )
    assert caught.value.status_code == 502
    body: Any = caught.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "api_error"
    assert "weather" in body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"max_tokens": 5}, "messages"),
        ({"max_tokens": 5, "messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"max_tokens": 5, "messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
        (
            {"max_tokens": 5, "stream": "yes", "messages": [{"role": "user", "content": "x"}]},
            "stream",
        ),
    ],
)
async def test_invalid_messages_requests_get_an_anthropic_400_naming_the_field(
    body: dict[str, Any], param: str
) -> None:
    agent = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with httpx2.AsyncClient() as http:
                    response = await http.post(srv.url + "/v1/messages", json=body)
    assert response.status_code == 400
    data = response.json()
    assert data["type"] == "error"
    assert data["error"]["type"] == "invalid_request_error"
    assert data["error"]["param"] == param
    assert param in data["error"]["message"]
    assert agent.seen == []


async def test_a_wrong_method_is_a_405_in_anthropics_shape() -> None:
    with anyio.fail_after(10):
        async with fakes(weather=FakeAgent("weather")) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with httpx2.AsyncClient() as http:
                    messages = await http.get(srv.url + "/v1/messages")
                    responses = await http.get(srv.url + "/v1/responses")
    assert messages.status_code == 405
    assert messages.headers["allow"] == "POST"
    assert messages.json()["type"] == "error"
    assert messages.json()["error"]["code"] == "method_not_allowed"
    assert responses.status_code == 405
    assert responses.json()["error"]["code"] == "method_not_allowed"
