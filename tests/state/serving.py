"""``plano-asgi serve`` as a subprocess for the state tests, awaited without blocking the loop.

The fake provider of a test runs in the test's event loop, so the server is started and
polled with asyncio (a blocking wait would starve the fake).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2

__all__ = ["gateway_config_text", "serving"]

STARTUP_LIMIT = 30.0


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


def gateway_config_text(provider_url: str, port: int, extra: str) -> str:
    """A one-provider model listener on ``port``, then ``extra`` (top-level YAML: the
    ``state_storage`` or ``ratelimits`` a test is about)."""
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
{extra}"""
