"""Listener overhead on loopback: ``python -m tests.listener.bench`` (not collected by pytest).

Compares a fake agent called directly with the same agent behind ``PlanoMiddleware`` (single
agent, so no routing), both under real uvicorn servers: median latency of small JSON
turns, and time to the first SSE chunk.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx2

from plano_asgi.middleware import PlanoMiddleware
from tests.listener.agents import FakeAgent
from tests.listener.conftest import listener_config
from tests.support.servers import serve

TURNS = 300
BODY = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}


async def _json_latency(http: httpx2.AsyncClient, url: str) -> float:
    times = []
    for _ in range(TURNS):
        start = time.perf_counter()
        response = await http.post(url + "/v1/chat/completions", json=BODY)
        response.raise_for_status()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def _first_chunk(http: httpx2.AsyncClient, url: str) -> float:
    times = []
    for _ in range(TURNS // 3):
        start = time.perf_counter()
        async with http.stream(
            "POST", url + "/v1/chat/completions", json={**BODY, "stream": True}
        ) as response:
            first: float | None = None
            async for _chunk in response.aiter_raw():
                first = first or time.perf_counter() - start
            assert first is not None
            times.append(first)
    return statistics.median(times) * 1000


async def main() -> None:
    agent = FakeAgent("echo")
    async with serve(agent) as direct:
        config = listener_config({"echo": direct.url})
        async with (
            PlanoMiddleware(None, config=config) as app,
            serve(app) as via,
            httpx2.AsyncClient() as http,
        ):
            for label, url in (("direct", direct.url), ("via listener", via.url)):
                await _json_latency(http, url)  # warm up connections
                json_ms = await _json_latency(http, url)
                first_ms = await _first_chunk(http, url)
                print(f"{label:>13}: JSON turn p50 {json_ms:.2f} ms, first chunk {first_ms:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
