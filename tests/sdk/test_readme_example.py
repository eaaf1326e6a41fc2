"""The "Writing an agent" README example, run as written (imports from the modules)."""

from __future__ import annotations

import openai
import pytest

from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.request import AgentRequest
from plano_agent_sdk.streaming import HandlerResult
from plano_agent_sdk.testing import ScriptedLLM, call_agent
from tests.support.servers import serve

agent = Agent("weather_agent", description="Current weather and forecasts for any city.")


@agent.handler(timeout=60)
async def handle(request: AgentRequest, ctx: Context) -> HandlerResult:
    return await ctx.llm.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[
            {"role": "system", "content": "You are a concise weather assistant."},
            *request.llm_messages(),
        ],
        stream=True,
    )


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False])
async def test_readme_agent_with_scripted_llm(stream: bool) -> None:
    llm = ScriptedLLM(["Sunny, 21 °C in Paris."])
    result = await call_agent(agent, "Weather in Paris?", stream=stream, llm=llm)
    assert result.text == "Sunny, 21 °C in Paris."
    assert llm.calls[0].messages[0]["role"] == "system"
    assert llm.calls[0].headers["x-request-id"] == result.request_id


@pytest.mark.anyio
async def test_readme_agent_behind_the_openai_client() -> None:
    llm = ScriptedLLM(["Rain all day."])
    async with serve(llm) as gateway:
        weather = Agent("weather_agent", gateway_url=f"{gateway.url}/v1")
        weather.handler(timeout=60)(handle)
        async with (
            serve(weather, lifespan="on") as srv,
            openai.AsyncOpenAI(base_url=f"{srv.url}/v1", api_key="unused") as client,
        ):
            answer = await client.chat.completions.create(
                model="weather_agent", messages=[{"role": "user", "content": "Rain in Oslo?"}]
            )
    assert answer.choices[0].message.content == "Rain all day."
    llm.verify()
