"""What one filter adds to a request on loopback: HTTP filter vs MCP filter vs none.

Run from the repository root::

    python bench/filter_overhead.py [--requests 500]

Two filter services (an HTTP filter and an MCP filter, both a no-op rewrite built with
``plano_agent_sdk.filters``) run in a child process under uvicorn, as they would in
production. In this process we time, interleaved round-robin so every variant sees the same
machine state:

* ``none``        an empty chain (the baseline: what a request costs without filters);
* ``http``        a chain with the HTTP filter;
* ``mcp``         a chain with the MCP filter (one session, reused: plano-asgi's way);
* ``mcp-fresh``   the MCP filter with a new session per request (Plano's way: initialize,
                  initialized, then the call; the SDK client also lists tools once per
                  session). Closing the session is not timed (Plano never closes them).

Output: a markdown table of p50/p99 per variant and the overhead over ``none``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx

from plano_asgi.config import FilterDef, PlanoConfig
from plano_asgi.filters.base import FilterCall
from plano_asgi.filters.mcp import McpFilter
from plano_asgi.filters.registry import FilterRegistry

PAYLOAD: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "You are a travel assistant."},
        {"role": "user", "content": "Find me a hotel in Lisbon for two nights next week."},
    ],
}
CALL = FilterCall(path="/v1/chat/completions", headers={"x-request-id": "bench"})


def rewrite(body: dict[str, Any], path: str) -> dict[str, Any]:
    """A no-op-ish rewrite: the cost measured is the hop, not the filter's logic."""
    body["messages"][-1]["content"] = body["messages"][-1]["content"].strip()
    return body


def serve_filters(http_port: int, mcp_port: int) -> None:
    """Child process: the HTTP filter and the MCP filter, each on its own uvicorn."""
    import uvicorn

    from plano_agent_sdk.filters import filter_function, mcp_filter_app

    flt = filter_function(rewrite, name="rewrite")

    async def main() -> None:
        servers = [
            uvicorn.Server(uvicorn.Config(flt.http_app, port=http_port, log_level="error")),
            uvicorn.Server(
                uvicorn.Config(
                    mcp_filter_app(flt, host="127.0.0.1"),
                    port=mcp_port,
                    log_level="error",
                    lifespan="on",
                )
            ),
        ]
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(main())


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def child(http_port: int, mcp_port: int) -> Iterator[None]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(http_port), str(mcp_port)],
    )
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(requests: int) -> str:
    http_port, mcp_port = free_port(), free_port()
    with child(http_port, mcp_port):
        await wait_ready(f"http://127.0.0.1:{http_port}/")
        await wait_ready(f"http://127.0.0.1:{mcp_port}/")
        config = PlanoConfig.from_dict(
            {
                "version": "v0.3.0",
                "filters": [
                    {"id": "rewrite", "url": f"http://127.0.0.1:{http_port}", "type": "http"},
                    {"id": "rewrite_mcp", "url": f"http://127.0.0.1:{mcp_port}", "tool": "rewrite"},
                ],
                "model_providers": [{"model": "openai/gpt-4o-mini", "access_key": "k"}],
            }
        )
        registry = FilterRegistry(config)

        fresh = McpFilter(
            FilterDef(id="rewrite_mcp", url=f"http://127.0.0.1:{mcp_port}", tool="rewrite")
        )

        async def fresh_session() -> Any:
            await fresh.reset_session()  # the old session ends in the background, untimed
            return await fresh.apply(dict(PAYLOAD), CALL)

        variants: dict[str, Callable[[], Awaitable[Any]]] = {
            "none": lambda: registry.chain([]).run(dict(PAYLOAD), CALL),
            "http": lambda: registry.chain(["rewrite"]).run(dict(PAYLOAD), CALL),
            "mcp": lambda: registry.chain(["rewrite_mcp"]).run(dict(PAYLOAD), CALL),
            "mcp-fresh": fresh_session,
        }
        samples: dict[str, list[float]] = {name: [] for name in variants}
        try:
            for _ in range(20):  # warm-up: connections, the MCP session, code paths
                for fn in variants.values():
                    await fn()
            for i in range(requests):
                for name, fn in variants.items():
                    if name == "mcp-fresh" and i % 5:
                        continue  # slow variant: every 5th round is plenty
                    start = time.perf_counter()
                    await fn()
                    samples[name].append((time.perf_counter() - start) * 1000)
        finally:
            await fresh.aclose()
            await registry.aclose()

    base50, base99 = pct(samples["none"], 0.5), pct(samples["none"], 0.99)
    lines = [
        f"requests per variant: {requests} (mcp-fresh: {len(samples['mcp-fresh'])}); "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{__import__('os').cpu_count()} cores",
        "",
        "| variant | p50 ms | p99 ms | mean ms | p50 overhead ms | p99 overhead ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, values in samples.items():
        p50, p99 = pct(values, 0.5), pct(values, 0.99)
        lines.append(
            f"| {name} | {p50:.3f} | {p99:.3f} | {statistics.fmean(values):.3f} "
            f"| {p50 - base50:.3f} | {p99 - base99:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--serve", nargs=2, type=int, metavar=("HTTP_PORT", "MCP_PORT"))
    args = parser.parse_args()
    if args.serve:
        serve_filters(*args.serve)
        return
    print(asyncio.run(run(args.requests)))


if __name__ == "__main__":
    main()
