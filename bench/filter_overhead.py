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

With ``--through-listener`` it measures what a user sees instead: a chat request through
a served agent listener (``plano_asgi.serving``, as ``plano-asgi serve`` runs it, in a second
child process) to a no-op agent, with the agent's ``input_filters`` empty (``none``), one HTTP
filter (``http``) or one MCP filter (``mcp``). The client is a plain ``httpx2`` client in this
process; the three listeners are timed interleaved, so the difference to ``none`` is the
per-request overhead of the filter through the whole listener.

Output: a markdown table of p50/p99 per variant and the overhead over ``none``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx2

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


COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "echo",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
    }
).encode()


async def echo_agent(scope: Any, receive: Any, send: Any) -> None:
    """The cheapest OpenAI-compatible agent: reads the request, answers one fixed completion."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body", False):
        pass
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": COMPLETION})


def serve_filters(http_port: int, mcp_port: int, agent_port: int = 0) -> None:
    """Child process: the HTTP filter and the MCP filter (and the agent), each on a uvicorn."""
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
        if agent_port:
            config = uvicorn.Config(echo_agent, port=agent_port, log_level="error", lifespan="off")
            servers.append(uvicorn.Server(config))
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(main())


def serve_listeners(config_json: str) -> None:
    """Child process: every listener of the config, served as ``plano-asgi serve`` does."""
    from plano_asgi.serving import plan_servers, serve_config

    config = PlanoConfig.from_dict(json.loads(config_json))
    servers = plan_servers(config, implicit_model_listener=False)
    asyncio.run(serve_config(servers, log_level="error"))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def child(*args: str) -> Iterator[None]:
    proc = subprocess.Popen([sys.executable, __file__, *args])
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def wait_ready(url: str) -> None:
    async with httpx2.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(url)
                return
            except httpx2.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(requests: int) -> str:
    http_port, mcp_port = free_port(), free_port()
    with child("--serve", str(http_port), str(mcp_port)):
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

    note = f"requests per variant: {requests} (mcp-fresh: {len(samples['mcp-fresh'])})"
    return table(samples, note)


def table(samples: dict[str, list[float]], note: str) -> str:
    """p50/p99/mean per variant and the overhead over ``none``, as markdown."""
    base50, base99 = pct(samples["none"], 0.5), pct(samples["none"], 0.99)
    lines = [
        f"{note}; Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores",
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


def listener_config(agent_port: int, http_port: int, mcp_port: int) -> dict[str, Any]:
    """Three agent listeners over one no-op agent: no filter, one HTTP, one MCP filter."""
    chains: dict[str, list[str]] = {"none": [], "http": ["rewrite"], "mcp": ["rewrite_mcp"]}
    return {
        "version": "v0.4.0",
        "agents": [{"id": "echo", "url": f"http://127.0.0.1:{agent_port}"}],
        "filters": [
            {"id": "rewrite", "url": f"http://127.0.0.1:{http_port}", "type": "http"},
            {"id": "rewrite_mcp", "url": f"http://127.0.0.1:{mcp_port}", "tool": "rewrite"},
        ],
        "listeners": [
            {
                "type": "agent",
                "name": name,
                "address": "127.0.0.1",
                "port": free_port(),
                "agents": [{"id": "echo", "description": "echo", "input_filters": ids}],
            }
            for name, ids in chains.items()
        ],
    }


async def run_through_listener(requests: int) -> str:
    http_port, mcp_port, agent_port = free_port(), free_port(), free_port()
    data = listener_config(agent_port, http_port, mcp_port)
    ports = {lst["name"]: lst["port"] for lst in data["listeners"]}
    samples: dict[str, list[float]] = {name: [] for name in ports}
    with (
        child("--serve", str(http_port), str(mcp_port), str(agent_port)),
        child("--serve-listeners", json.dumps(data)),
    ):
        for port in (http_port, mcp_port, agent_port, *ports.values()):
            await wait_ready(f"http://127.0.0.1:{port}/healthz")
        async with httpx2.AsyncClient() as client:

            async def turn(name: str) -> float:
                url = f"http://127.0.0.1:{ports[name]}/v1/chat/completions"
                start = time.perf_counter()
                response = await client.post(url, json=PAYLOAD)
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: HTTP {response.status_code}")
                return elapsed

            for _ in range(20):  # warm-up: connections, the MCP session, code paths
                for name in ports:
                    await turn(name)
            for _ in range(requests):
                for name in ports:
                    samples[name].append(await turn(name))
    return table(samples, f"requests per variant: {requests}, through the agent listener")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument(
        "--through-listener",
        action="store_true",
        help="time chat requests through a served agent listener instead of bare chains",
    )
    parser.add_argument("--serve", nargs="+", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-listeners", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_filters(*args.serve)
        return
    if args.serve_listeners:
        serve_listeners(args.serve_listeners)
        return
    bench = run_through_listener if args.through_listener else run
    print(asyncio.run(bench(args.requests)))


if __name__ == "__main__":
    main()
