"""``plano-asgi serve`` keeps conversation state in PostgreSQL across a restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from tests.gateway.fakes import FakeProvider, Reply, openai_completion
from tests.gateway.helpers import openai_client
from tests.support.servers import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

STARTUP_LIMIT = 30.0


def config_text(provider_url: str, port: int) -> str:
    return f"""\
version: v0.3.0
model_providers:
  - model: openai/gpt-4o
    base_url: {provider_url}
    access_key: sk-test
    default: true
listeners:
  - type: model
    name: gateway
    port: {port}
state_storage:
  type: postgres
  connection_string: $PLANO_TEST_STATE_DB
"""


@contextlib.asynccontextmanager
async def serving(path: Path, port: int, env: dict[str, str]) -> AsyncIterator[None]:
    log = path.with_suffix(".log").open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "plano_asgi", "serve", str(path), "--host", "127.0.0.1",
        stdout=log, stderr=log, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_LIMIT
        async with httpx2.AsyncClient(timeout=1.0) as http:
            while True:
                assert proc.returncode is None, path.with_suffix(".log").read_text()
                assert time.monotonic() < deadline, "serve did not become healthy"
                with contextlib.suppress(httpx2.TransportError):
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        yield
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        log.close()
    assert "Traceback" not in path.with_suffix(".log").read_text()


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
