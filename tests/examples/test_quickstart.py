"""The quickstart (examples/quickstart/) served on loopback, asked with the openai client.

The README runs ``plano-asgi serve`` on the same config (tests/docs/test_readme.py); this
serves ``app.py``'s ``PlanoMiddleware`` under uvicorn with its lifespan, the other way the
README names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest

from examples.quickstart.app import app
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


@pytest.fixture
async def client() -> AsyncIterator[openai.AsyncOpenAI]:
    async with serve(app, lifespan="on") as server:
        llm = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
        try:
            yield llm
        finally:
            await llm.close()


async def test_a_complete_answer(client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(
        model="echo_agent", messages=[{"role": "user", "content": "Hello, Plano"}]
    )
    assert reply.choices[0].message.content == "You said: Hello, Plano"
    assert reply.choices[0].finish_reason == "stop"


async def test_a_streamed_answer_arrives_in_pieces(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="echo_agent",
        messages=[
            {"role": "user", "content": "first turn"},
            {"role": "assistant", "content": "You said: first turn"},
            {"role": "user", "content": "one two three"},
        ],
        stream=True,
    )
    pieces = [chunk.choices[0].delta.content async for chunk in stream if chunk.choices]
    assert [piece for piece in pieces if piece] == ["You said:", " one", " two", " three"]


async def test_an_empty_message_gets_a_prompt(client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(
        model="echo_agent", messages=[{"role": "user", "content": "   "}]
    )
    assert reply.choices[0].message.content == "Say something and I will repeat it."


async def test_the_listener_lists_its_one_agent(client: openai.AsyncOpenAI) -> None:
    models = await client.models.list()
    assert [model.id for model in models.data] == ["echo_agent"]


def test_the_quickstart_is_under_80_lines_with_its_config() -> None:
    files = [*QUICKSTART.glob("*.py"), QUICKSTART / "plano_config.yaml"]
    lines = sum(len(path.read_text().splitlines()) for path in files)
    assert lines < 80, lines
