"""The agent listener's ``/v1/responses`` through ``plano-asgi serve``, state in PostgreSQL.

The agent (an SDK agent served in-process, imported next to the config) answers with the
conversation it was sent, so each answer shows which earlier turns reached it. The server
is stopped and started again between turns: only PostgreSQL can have kept the first one.
"""

from __future__ import annotations

import os
from pathlib import Path

import openai
import pytest

from tests.gateway.helpers import openai_client
from tests.state.serving import serving
from tests.support.servers import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

AGENT = """\
from plano_agent_sdk import Agent

agent = Agent("transcript", description="Says which messages it was sent.")


@agent.handler(timeout=10)
async def handle(request, ctx):
    return " | ".join(f"{m.role}: {m.text}" for m in request.messages)
"""


def config_text(port: int) -> str:
    return f"""\
version: v0.3.0
agents:
  - id: transcript
    app: transcript_agent:agent
listeners:
  - type: agent
    name: front
    port: {port}
    agents:
      - id: transcript
        description: Says which messages it was sent.
state_storage:
  type: postgres
  connection_string: ${{PLANO_TEST_STATE_DB}}
"""


async def test_the_listener_keeps_turns_in_postgres_across_a_restart(
    tmp_path: Path, postgres_url: str
) -> None:
    port = free_port()
    (tmp_path / "transcript_agent.py").write_text(AGENT, encoding="utf-8")
    path = tmp_path / "plano_config.yaml"
    path.write_text(config_text(port), encoding="utf-8")
    env = {**os.environ, "PLANO_TEST_STATE_DB": postgres_url}
    client = openai_client(f"http://127.0.0.1:{port}")
    try:
        async with serving(path, port, env):
            first = await client.responses.create(model="m", input="I fly to Oslo on Friday.")
        async with serving(path, port, env):
            second = await client.responses.create(
                model="m", input="What day was it?", previous_response_id=first.id
            )
            async with client.responses.stream(
                model="m", input="And where?", previous_response_id=second.id
            ) as stream:
                third = await stream.get_final_response()
            with pytest.raises(openai.BadRequestError) as unknown:
                await client.responses.create(
                    model="m", input="hm", previous_response_id="resp_never_stored"
                )
    finally:
        await client.close()
    assert first.output_text == "user: I fly to Oslo on Friday."
    assert second.output_text == (
        "user: I fly to Oslo on Friday. | assistant: user: I fly to Oslo on Friday. | "
        "user: What day was it?"
    )
    assert third.output_text.startswith("user: I fly to Oslo on Friday. | assistant: ")
    assert third.output_text.endswith(
        "| user: What day was it? | assistant: " + second.output_text + " | user: And where?"
    )
    assert unknown.value.status_code == 400
    body = unknown.value.body
    assert isinstance(body, dict)
    assert body["param"] == "previous_response_id"
