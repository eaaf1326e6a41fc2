"""``/v1/responses`` on the agent listener, checked with the official ``openai`` client.

Agents are SDK :class:`~plano_agent_sdk.Agent` apps and fakes on real uvicorn servers; the
listener translates the Responses request into their chat turn and the answer back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import openai
import pytest

from plano_agent_sdk import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.request import AgentRequest
from tests.listener.agents import FakeAgent
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.misbehaving import DONE, Scripted, chunk
from tests.listener.support import fakes, listener

pytestmark = pytest.mark.anyio

CALL = {
    "index": 0,
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":'},
}
MORE = {"index": 0, "function": {"arguments": ' "Paris"}'}}


def echo_agent() -> tuple[Agent, list[AgentRequest]]:
    """An SDK agent that streams back what it was asked and its system prompt."""
    agent = Agent("echo")
    seen: list[AgentRequest] = []

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
        seen.append(request)
        yield f"[{request.system_prompt}] "
        yield "you said: "
        yield request.last_user_message

    return agent, seen


async def test_responses_create_gets_a_response_object_from_an_sdk_agent() -> None:
    agent, seen = echo_agent()
    with anyio.fail_after(10):
        async with fakes(echo=agent) as url:
            async with listener(listener_config({"echo": url["echo"]})) as srv:
                raw = await srv.api.responses.with_raw_response.create(
                    model="m", instructions="Be brief.", input="weather in Rome?"
                )
                reply = raw.parse()
    assert raw.headers["content-type"] == "application/json"
    assert raw.headers["x-plano-agents"] == "echo"
    assert reply.object == "response"
    assert reply.id.startswith("resp_")
    assert reply.status == "completed"
    assert reply.output_text == "[Be brief.] you said: weather in Rome?"
    assert [item.type for item in reply.output] == ["message"]
    # The agent got a chat turn: the instructions as the system message, then the input.
    assert [(m.role, m.text) for m in seen[0].messages] == [
        ("system", "Be brief."),
        ("user", "weather in Rome?"),
    ]
    assert seen[0].stream is False


async def test_input_items_become_the_chat_history_the_agent_sees() -> None:
    agent, seen = echo_agent()
    items: Any = [
        {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello!"}],
        },
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
        {"role": "user", "content": "and now?"},
    ]
    with anyio.fail_after(10):
        async with fakes(echo=agent) as url:
            async with listener(listener_config({"echo": url["echo"]})) as srv:
                reply = await srv.api.responses.create(model="m", input=items)
    assert reply.output_text == "[] you said: and now?"
    wire = [m.to_wire() for m in seen[0].messages]
    # The function call joins the assistant message before it (one assistant turn).
    assert wire == [
        {"role": "user", "content": "Hi"},
        {
            "role": "assistant",
            "content": "Hello!",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "content": "42", "tool_call_id": "c1"},
        {"role": "user", "content": "and now?"},
    ]


async def test_responses_stream_sends_the_responses_events_and_the_final_response() -> None:
    agent, _ = echo_agent()
    with anyio.fail_after(10):
        async with fakes(echo=agent) as url:
            async with listener(listener_config({"echo": url["echo"]})) as srv:
                async with srv.api.responses.stream(model="m", input="hello") as stream:
                    kinds = []
                    deltas = []
                    async for event in stream:
                        kinds.append(event.type)
                        if event.type == "response.output_text.delta":
                            deltas.append(event.delta)
                    final = await stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.output_item.added" in kinds
    assert "response.output_text.done" in kinds
    assert "".join(deltas) == "[] you said: hello"
    assert len(deltas) == 3  # streamed as the agent produced it, not gathered
    assert final.output_text == "[] you said: hello"
    assert final.status == "completed"


async def test_tool_calls_come_back_as_function_call_items_streamed_or_not() -> None:
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
                reply = await srv.api.responses.create(model="m", input="weather?")
            async with listener(listener_config({"weather": url["b"]})) as srv:
                async with srv.api.responses.stream(model="m", input="weather?") as stream:
                    streamed = await stream.get_final_response()
    for response in (reply, streamed):
        kinds = [item.type for item in response.output]
        assert kinds == ["message", "function_call"]
        call = response.output[1]
        assert call.type == "function_call"
        assert (call.call_id, call.name, call.arguments) == (
            "call_1",
            "get_weather",
            '{"city": "Paris"}',
        )
        assert response.output_text == "Let me check."
        assert response.usage is not None
        assert (response.usage.input_tokens, response.usage.output_tokens) == (5, 7)


async def test_two_agents_answers_are_one_text_in_order_with_labelled_deltas() -> None:
    def answer(*pieces: str) -> Scripted:
        first, *rest = pieces
        return Scripted(
            [chunk(first, role="assistant"), *[chunk(p) for p in rest], chunk(finish="stop"), DONE]
        )

    with anyio.fail_after(10):
        async with fakes(
            weather=answer("Sunny", " in Rome."),
            flights=answer("AZ1 ", "at 9:00."),
            weather2=answer("Sunny", " in Rome."),
            flights2=answer("AZ1 ", "at 9:00."),
        ) as url:
            config = listener_config({"weather": url["weather"], "flights": url["flights"]})
            router = ScriptedRouter(("weather", "flights"))
            async with listener(config, router=router) as srv:
                stream = await srv.api.responses.create(model="m", input="both?", stream=True)
                events = [event async for event in stream]
            config = listener_config({"weather": url["weather2"], "flights": url["flights2"]})
            router = ScriptedRouter(("weather", "flights"))
            async with listener(config, router=router) as srv:
                whole = await srv.api.responses.create(model="m", input="both?")
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert "".join(e.delta for e in deltas) == "Sunny in Rome.\n\nAZ1 at 9:00."
    labels = [(e.model_extra or {}).get("agent") for e in deltas]
    changes = [mark for i, mark in enumerate(labels) if i == 0 or labels[i - 1] != mark]
    assert changes == ["weather", "flights"]
    assert events[-1].type == "response.completed"
    assert whole.output_text == "Sunny in Rome.\n\nAZ1 at 9:00."
    assert (whole.model_extra or {})["answers"] == [
        {"agent": "weather", "content": "Sunny in Rome."},
        {"agent": "flights", "content": "AZ1 at 9:00."},
    ]


async def test_a_stream_broken_mid_way_ends_with_response_failed() -> None:
    agent = FakeAgent("weather", die_after=2)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                stream = await srv.api.responses.create(model="m", input="hi", stream=True)
                events = [event async for event in stream]
                async with srv.api.responses.stream(model="m", input="hi") as managed:
                    with pytest.raises(RuntimeError, match="response.completed"):
                        await managed.get_final_response()
    kinds = [event.type for event in events]
    assert kinds[-1] == "response.failed"
    assert "response.completed" not in kinds
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == (
        "weather says: "
    )
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed"
    assert failed.response.error is not None
    assert "Agent 'weather'" in failed.response.error.message


async def test_agent_errors_before_the_answer_are_openai_envelopes_with_a_status() -> None:
    agent = FakeAgent("weather", status=503)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                with pytest.raises(openai.APIStatusError) as caught:
                    await srv.api.responses.create(model="m", input="hi")
    assert caught.value.status_code == 502
    assert "weather" in caught.value.message


@pytest.mark.parametrize(
    ("body", "param", "where"),
    [
        ({"model": "m"}, "input", "input"),
        ({"input": 5}, "input", "input"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input", "input[0].role"),
        ({"input": [{"type": "mcp_call"}]}, "input", "input[0].type"),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools", "tools[0].type"),
        ({"input": "x", "stream": "yes"}, "stream", "stream"),
        ({"input": "x", "previous_response_id": "r1"}, "previous_response_id", "state_storage"),
    ],
)
async def test_invalid_responses_requests_get_a_400_naming_the_field(
    body: dict[str, Any], param: str, where: str
) -> None:
    agent = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            async with listener(listener_config({"weather": url["weather"]})) as srv:
                async with httpx2.AsyncClient() as http:
                    response = await http.post(srv.url + "/v1/responses", json=body)
                    not_json = await http.post(srv.url + "/v1/responses", content=b"{")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param  # the top-level field, as OpenAI names it
    assert where in error["message"]  # the exact spot
    assert error["type"] == "invalid_request_error"
    assert not_json.status_code == 400
    assert "not valid JSON" in json.loads(not_json.text)["error"]["message"]
    assert agent.seen == []
