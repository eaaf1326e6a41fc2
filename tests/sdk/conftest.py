"""Fixtures for the SDK tests: one event loop per module, a recording fake gateway on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import httpx2
import pytest
from starlette.types import ASGIApp

from plano_agent_sdk.testing import ScriptedLLM
from tests.sdk.apps import TEXT
from tests.support.servers import free_port, serve


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module scope, so a module can share servers instead of starting one per test."""
    return "asyncio"


@dataclass
class Gateway:
    llm: ScriptedLLM
    url: str


@pytest.fixture(scope="module")
async def gateway() -> AsyncIterator[Gateway]:
    """A ScriptedLLM served by uvicorn on 127.0.0.1, answering every call with ``TEXT``."""
    llm = ScriptedLLM(default=TEXT)
    async with serve(llm) as srv:
        yield Gateway(llm=llm, url=f"{srv.url}/v1")


@contextlib.asynccontextmanager
async def serve_hypercorn(app: ASGIApp) -> AsyncIterator[str]:
    """Run ``app`` under hypercorn on 127.0.0.1; yields its base URL once /healthz answers."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.loglevel = "WARNING"
    config.graceful_timeout = 1
    url = f"http://127.0.0.1:{port}"
    stop = anyio.Event()

    async def run() -> None:
        await hypercorn_serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        try:
            with anyio.fail_after(10):
                await wait_healthy(url)
            yield url
        finally:
            stop.set()


async def wait_healthy(url: str) -> None:
    """Poll ``url``/healthz until it answers 200."""
    async with httpx2.AsyncClient() as client:
        while True:
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            await anyio.sleep(0.02)


@contextlib.asynccontextmanager
async def serve_with(server: str, app: ASGIApp) -> AsyncIterator[str]:
    """Base URL of ``app`` served by ``server`` (``uvicorn`` or ``hypercorn``)."""
    if server == "hypercorn":
        async with serve_hypercorn(app) as url:
            yield url
    else:
        async with serve(app) as srv:
            yield srv.url
