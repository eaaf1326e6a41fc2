"""``plano-asgi serve`` keeps conversation state in PostgreSQL across a restart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.gateway.fakes import FakeProvider, Reply, openai_completion
from tests.gateway.helpers import openai_client
from tests.state.serving import gateway_config_text, serving
from tests.support.servers import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def config_text(provider_url: str, port: int) -> str:
    storage = "state_storage:\n  type: postgres\n  connection_string: $PLANO_TEST_STATE_DB\n"
    return gateway_config_text(provider_url, port, storage)


async def test_state_written_to_postgres_survives_a_restart_of_serve(
    tmp_path: Path, postgres_url: str
) -> None:
    port = free_port()
    env = {**os.environ, "PLANO_TEST_STATE_DB": postgres_url}
    async with FakeProvider("upstream").then(
        Reply(body=openai_completion("Porto has the best tiles.")),
        Reply(body=openai_completion("Take the train from Lisbon.")),
    ) as fake:
        path = tmp_path / "plano_config.yaml"
        path.write_text(config_text(fake.url, port), encoding="utf-8")
        client = openai_client(f"http://127.0.0.1:{port}")
        try:
            async with serving(path, port, env):
                first = await client.responses.create(model="openai/gpt-4o", input="Porto?")
            async with serving(path, port, env):  # a new process: nothing left in memory
                second = await client.responses.create(
                    model="openai/gpt-4o",
                    input="How do I get there?",
                    previous_response_id=first.id,
                )
        finally:
            await client.close()
    assert second.output_text == "Take the train from Lisbon."
    assert fake.requests[1].json()["messages"] == [
        {"role": "user", "content": "Porto?"},
        {"role": "assistant", "content": "Porto has the best tiles."},
        {"role": "user", "content": "How do I get there?"},
    ]
