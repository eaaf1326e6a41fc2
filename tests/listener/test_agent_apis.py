"""Agents that speak Responses or Anthropic Messages (``agents[].api``), behind the listener.

Clients of every API (the official ``openai`` and ``anthropic`` clients) talk to agents of
every API on real uvicorn servers; the listener translates the turn to the agent's API and
its reply, JSON or streamed, back to the client's.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import anyio
import openai
import pytest

from plano_asgi.config import PlanoConfig
from plano_asgi.errors import ConfigError
from tests.listener.agents import FakeAgent
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.foreign_agents import MessagesAgent, ResponsesAgent, ToolCallingAgent
from tests.listener.support import fakes, listener, user

pytestmark = pytest.mark.anyio

SYSTEM: Any = {"role": "system", "content": "Be brief."}


def config_for(url: str, api: str, agent: str = "remote") -> PlanoConfig:
    return listener_config({agent: url}, agent_extra={agent: {"api": api}})


@pytest.mark.parametrize("stream", [False, True])
async def test_a_chat_client_gets_a_responses_agents_answer(stream: bool) -> None:
    agent = ResponsesAgent()
    with anyio.fail_after(10):
        async with fakes(remote=agent.app()) as url:
            async with listener(config_for(url["remote"], "responses")) as srv:
                if stream:
                    chunks = await srv.api.chat.completions.create(
                        model="m", messages=[SYSTEM, user("hi there")], stream=True
                    )
                    parts = [c async for c in chunks]
                    text = "".join(c.choices[0].delta.content or "" for c in parts if c.choices)
                    finish = [c.choices[0].finish_reason for c in parts if c.choices][-1]
                else:
                    reply = await srv.api.chat.completions.create(
                        model="m", messages=[SYSTEM, user("hi there")]
                    )
                    text = reply.choices[0].message.content or ""
                    finish = reply.choices[0].finish_reason
                    assert reply.usage is not None
                    assert reply.usage.total_tokens == 7
    assert text == "responder: hi there"
    assert finish == "stop"
    path, body = agent.seen[0]
    assert path.endswith("/v1/responses")
    assert body["instructions"] == "Be brief."
    assert body["input"] == [{"role": "user", "content": "hi there"}]
    assert body.get("stream", False) is stream
    assert "messages" not in body


@pytest.mark.parametrize("stream", [False, True])
async def test_a_chat_client_gets_a_messages_agents_answer(stream: bool) -> None:
    agent = MessagesAgent()
    with anyio.fail_after(10):
        async with fakes(remote=agent.app()) as url:
            async with listener(config_for(url["remote"], "messages")) as srv:
                if stream:
                    chunks = await srv.api.chat.completions.create(
                        model="m", messages=[SYSTEM, user("hi there")], stream=True
                    )
                    parts = [c async for c in chunks]
                    text = "".join(c.choices[0].delta.content or "" for c in parts if c.choices)
                    assert len([c for c in parts if c.choices and c.choices[0].delta.content]) == 2
                else:
                    reply = await srv.api.chat.completions.create(
                        model="m", messages=[SYSTEM, user("hi there")]
                    )
                    text = reply.choices[0].message.content or ""
    assert text == "claudish: hi there"
    path, body = agent.seen[0]
    assert path.endswith("/v1/messages")
    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi there"}]}]
    assert body["max_tokens"] > 0  # Anthropic requires it; the chat client did not send one
    assert body["model"] == "m"


async def test_a_responses_client_and_an_anthropic_client_on_foreign_agents() -> None:
    responder, claudish = ResponsesAgent(), MessagesAgent()
    with anyio.fail_after(10):
        async with fakes(r=responder.app(), m=claudish.app()) as url:
            async with listener(config_for(url["m"], "messages")) as srv:
                async with srv.api.responses.stream(model="m", input="to claude") as stream:
                    final = await stream.get_final_response()
            async with listener(config_for(url["r"], "responses")) as srv:
                async with anthropic.AsyncAnthropic(
                    base_url=srv.url, api_key="k", max_retries=0
                ) as client:
                    async with client.messages.stream(
                        model="c", max_tokens=5, messages=[{"role": "user", "content": "to gpt"}]
                    ) as anth:
                        message = await anth.get_final_message()
    assert final.output_text == "claudish: to claude"
    assert message.content[0].text == "responder: to gpt"  # type: ignore[union-attr]
    assert claudish.seen[0][1]["stream"] is True
    assert responder.seen[0][1]["max_output_tokens"] == 5


async def _collect(stream: Any, texts: list[str]) -> None:
    async for part in stream:
        texts.append(part.choices[0].delta.content or "" if part.choices else "")


@pytest.mark.parametrize(
    ("api", "end", "what"),
    [
        ("responses", "cut", "before its end event"),
        ("responses", "fail", "the model fell over"),
        ("messages", "cut", "before its end event"),
        ("messages", "fail", "busy"),
    ],
)
async def test_a_foreign_agent_stream_that_breaks_ends_with_an_in_band_error(
    api: str, end: Any, what: str
) -> None:
    agent = ResponsesAgent(end=end) if api == "responses" else MessagesAgent(end=end)
    with anyio.fail_after(10):
        async with fakes(remote=agent.app()) as url:
            async with listener(config_for(url["remote"], api)) as srv:
                stream = await srv.api.chat.completions.create(
                    model="m", messages=[user("hi")], stream=True
                )
                texts: list[str] = []
                with pytest.raises(openai.APIError) as caught:
                    await _collect(stream, texts)
    assert "".join(texts).startswith(f"{agent.name}: hi")
    assert "Agent 'remote'" in caught.value.message
    assert what in caught.value.message


async def test_a_later_agent_of_another_api_sees_the_earlier_agents_answer() -> None:
    claudish = MessagesAgent()
    chat = FakeAgent("weather")
    with anyio.fail_after(10):
        async with fakes(weather=chat, claudish=claudish.app()) as url:
            config = listener_config(
                {"weather": url["weather"], "claudish": url["claudish"]},
                agent_extra={"claudish": {"api": "messages"}},
            )
            async with listener(config, router=ScriptedRouter(("weather", "claudish"))) as srv:
                reply = await srv.api.chat.completions.create(model="m", messages=[user("Rome?")])
    assert reply.choices[0].message.content == "weather says: Rome?\n\nclaudish: Rome?"
    sent = claudish.seen[0][1]["messages"]
    assert sent[0] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "weather says: Rome?"}],
    }
    assert sent[-1]["role"] == "user"


def test_an_unknown_agent_api_is_a_config_error_naming_the_choices() -> None:
    with pytest.raises(ConfigError) as caught:
        config_for("http://127.0.0.1:1", "graphql")
    text = str(caught.value)
    assert "agents" in text
    assert "api" in text
    assert "chat_completions" in text
    assert "messages" in text


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("api", ["responses", "messages"])
async def test_a_foreign_agents_tool_call_reaches_a_chat_client_as_tool_calls(
    api: Any, stream: bool
) -> None:
    agent = ToolCallingAgent(api)
    with anyio.fail_after(10):
        async with fakes(remote=agent.app()) as url:
            async with listener(config_for(url["remote"], api)) as srv:
                if stream:
                    chunks = await srv.api.chat.completions.create(
                        model="m", messages=[user("weather?")], stream=True
                    )
                    parts = [c async for c in chunks]
                    calls = [
                        call
                        for c in parts
                        if c.choices
                        for call in c.choices[0].delta.tool_calls or ()
                    ]
                    call_id = next(call.id for call in calls if call.id)
                    name = next(
                        call.function.name for call in calls if call.function and call.function.name
                    )
                    arguments = "".join(
                        call.function.arguments or "" for call in calls if call.function
                    )
                    finish = [c.choices[0].finish_reason for c in parts if c.choices][-1]
                else:
                    reply = await srv.api.chat.completions.create(
                        model="m", messages=[user("weather?")]
                    )
                    assert reply.choices[0].message.tool_calls is not None
                    whole = reply.choices[0].message.tool_calls[0]
                    call_id, name = whole.id, whole.function.name  # type: ignore[union-attr]
                    arguments = whole.function.arguments  # type: ignore[union-attr]
                    finish = reply.choices[0].finish_reason
    assert (call_id, name) == ("call_9", "get_weather")
    assert json.loads(arguments) == {"city": "Rome"}
    assert finish == "tool_calls"
