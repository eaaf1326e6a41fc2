"""``plano-asgi serve`` answers Responses and Anthropic clients, with agents of every API.

A real ``serve`` subprocess, two agent listeners: ``front`` over an SDK agent (chat
completions), ``back`` over a Starlette agent that speaks only the Responses API
(``api: responses``), both imported next to the config. The official ``openai`` and
``anthropic`` clients call both, streamed and not.
"""

from __future__ import annotations

from pathlib import Path

import anthropic
import anyio
import httpx2
import openai
import pytest

from tests.cli.test_serve_agents import RUN_LIMIT, running, wait_healthy
from tests.support.servers import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

AGENTS = """\
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plano_agent_sdk import Agent, AgentRequest, Context

echo = Agent("echo")


@echo.handler
async def handle(request: AgentRequest, ctx: Context):
    yield "echo: "
    yield request.last_user_message


async def respond(request: Request) -> JSONResponse:
    body = await request.json()
    text = "responder: " + body["input"][-1]["content"]
    return JSONResponse({
        "id": "resp_1", "object": "response", "created_at": 1, "status": "completed",
        "model": "r", "output": [{
            "id": "m1", "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }],
    })


responder = Starlette(routes=[Route("/v1/responses", respond, methods=["POST"])])
"""


def config(front: int, back: int) -> str:
    return f"""\
version: v0.3.0
agents:
  - id: echo
    app: client_api_agents:echo
  - id: responder
    app: client_api_agents:responder
    api: responses
listeners:
  - type: agent
    name: front
    port: {front}
    agents:
      - id: echo
        description: echoes
  - type: agent
    name: back
    port: {back}
    agents:
      - id: responder
        description: answers in the Responses API
"""


async def test_serve_answers_responses_and_anthropic_clients(tmp_path: Path) -> None:
    front_port, back_port = free_port(), free_port()
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (project / "client_api_agents.py").write_text(AGENTS, encoding="utf-8")
    path = project / "plano_config.yaml"
    path.write_text(config(front_port, back_port), encoding="utf-8")
    front, back = f"http://127.0.0.1:{front_port}", f"http://127.0.0.1:{back_port}"
    with anyio.fail_after(RUN_LIMIT):
        async with (
            running(path, tmp_path) as process,
            httpx2.AsyncClient(timeout=30, trust_env=False) as http,
        ):
            await wait_healthy(http, process, front)
            await wait_healthy(http, process, back)
            gpt = openai.AsyncOpenAI(base_url=f"{front}/v1", api_key="k", max_retries=0)
            claude = anthropic.AsyncAnthropic(base_url=front, api_key="k", max_retries=0)
            via_back = openai.AsyncOpenAI(base_url=f"{back}/v1", api_key="k", max_retries=0)
            claude_back = anthropic.AsyncAnthropic(base_url=back, api_key="k", max_retries=0)
            question: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hi"}]
            async with gpt, claude, via_back, claude_back:
                created = await gpt.responses.create(model="m", input="one")
                async with gpt.responses.stream(model="m", input="two") as stream:
                    streamed = await stream.get_final_response()
                message = await claude.messages.create(model="c", max_tokens=9, messages=question)
                async with claude.messages.stream(
                    model="c", max_tokens=9, messages=question
                ) as anth:
                    pieces = [text async for text in anth.text_stream]
                chat = await via_back.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "three"}]
                )
                from_back = await claude_back.messages.create(
                    model="c", max_tokens=9, messages=question
                )
                bad = await http.post(f"{front}/v1/messages", json={"messages": []})
    assert created.output_text == "echo: one"
    assert streamed.output_text == "echo: two"
    assert streamed.status == "completed"
    assert message.content[0].text == "echo: hi"  # type: ignore[union-attr]
    assert pieces == ["echo: ", "hi"]
    assert chat.choices[0].message.content == "responder: three"
    assert from_back.content[0].text == "responder: hi"  # type: ignore[union-attr]
    assert bad.status_code == 400
    assert bad.json()["type"] == "error"
