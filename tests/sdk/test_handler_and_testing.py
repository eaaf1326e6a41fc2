"""The @agent.handler decorator, and the testing helpers agent authors use."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context, current_context
from plano_agent_sdk.request import AgentRequest
from plano_agent_sdk.testing import AgentTestClient, LLMCall, ScriptedLLM, ScriptedReply, call_agent


def test_handler_bare_returns_the_function_unchanged() -> None:
    agent = Agent("a")

    async def handle(request: AgentRequest, ctx: Context) -> str:
        return "x"

    assert agent.handler(handle) is handle
    assert agent._registration is not None
    assert agent._registration.timeout is None


def test_handler_with_options() -> None:
    agent = Agent("a")

    @agent.handler(timeout=30)
    async def handle(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
        yield "x"

    assert agent._registration is not None
    assert agent._registration.timeout == 30
    assert agent._registration.is_generator


def test_handler_rejects_bad_registrations() -> None:
    agent = Agent("a")

    def sync(request: AgentRequest, ctx: Context) -> str:
        return "x"

    async def handle(request: AgentRequest, ctx: Context) -> str:
        return "x"

    with pytest.raises(TypeError, match="async"):
        agent.handler(sync)  # type: ignore[type-var]
    with pytest.raises(ValueError, match="positive"):
        agent.handler(timeout=0)(handle)
    agent.handler(handle)
    with pytest.raises(ValueError, match="already has a handler"):
        agent.handler(handle)
    with pytest.raises(ValueError, match="name"):
        Agent("")


def _weather_agent() -> Agent:
    agent = Agent("weather_agent")

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
        assert current_context() is ctx
        stream = await ctx.llm.chat.completions.create(
            model="gpt-4o", messages=request.llm_messages(), stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    return agent


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False])
async def test_call_agent_with_scripted_llm(stream: bool) -> None:
    llm = ScriptedLLM(["Sunny, 21 C in Paris."])
    result = await call_agent(
        _weather_agent(),
        "Weather in Paris?",
        stream=stream,
        llm=llm,
        headers={"x-request-id": "r1"},
    )
    assert result.status == 200
    assert result.text == "Sunny, 21 C in Paris."
    assert result.request_id == "r1"
    assert bool(result.chunks) is stream
    (call,) = llm.calls
    assert call.headers["x-request-id"] == "r1"
    assert call.stream
    assert call.last_user_message == "Weather in Paris?"


@pytest.mark.anyio
async def test_unconsumed_script_fails_the_test() -> None:
    with pytest.raises(AssertionError, match="1 scripted reply"):
        await call_agent(_weather_agent(), "hi", llm=ScriptedLLM(["one", "two"]))


@pytest.mark.anyio
async def test_unexpected_llm_call_fails_the_test() -> None:
    with pytest.raises(AssertionError, match="1 unexpected call"):
        await call_agent(_weather_agent(), "hi")


@pytest.mark.anyio
async def test_scripted_reply_functions_errors_and_usage() -> None:
    def echo(call: LLMCall) -> str:
        return call.last_user_message.upper()

    llm = ScriptedLLM([echo, ScriptedReply(status=503, error="down")], default="fallback")
    agent = Agent("multi")

    @agent.handler
    async def handle(request: AgentRequest, ctx: Context) -> str:
        texts = []
        for _ in range(2):
            try:
                answer = await ctx.llm.chat.completions.create(
                    model="m", messages=request.llm_messages()
                )
                texts.append(answer.choices[0].message.content or "")
                assert answer.usage is not None
            except Exception as exc:  # the scripted 503
                texts.append(type(exc).__name__)
        answer = await ctx.llm.chat.completions.create(model="m", messages=request.llm_messages())
        texts.append(answer.choices[0].message.content or "")
        return "|".join(texts)

    async with AgentTestClient(agent, llm=llm) as client:
        first = await client.call([{"role": "user", "content": "hey"}])
    assert first.text == "HEY|InternalServerError|fallback"
    assert len(llm.calls) == 3
    assert llm.unexpected == []


@pytest.mark.anyio
async def test_agent_test_client_restores_the_agents_client() -> None:
    agent = _weather_agent()
    before = agent.llm
    async with AgentTestClient(agent, llm=ScriptedLLM(["x"])) as client:
        assert agent.llm is not before
        await client.call("hi")
    assert agent.llm is before
    await agent.aclose()
