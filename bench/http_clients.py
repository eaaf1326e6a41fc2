"""What one outbound HTTP call costs the calling process, per client library.

Run from the repository root::

    python bench/http_clients.py [--requests 2000] [--concurrency 64] [--rounds 4]

A minimal OpenAI-shaped provider (a raw ASGI app that answers a small JSON body at once)
runs under uvicorn in a child process on 127.0.0.1; this process is the client and sends
the gateway's request shape (one POST with a small JSON body, the answer read as raw
chunks, the response closed) through each client in turn:

* ``httpx2 (outbound_client)``: ``httpx2.AsyncClient`` as
  :func:`plano_asgi.outbound.outbound_client` builds it (agents, filters, router, CLI);
* ``httpx2 default``: a plain ``httpx2.AsyncClient()``;
* ``aiohttp``: a plain ``aiohttp.ClientSession`` (``trust_env=False``);
* ``aiohttp trust_env``: the same with ``trust_env=True``, which looks the proxy variables
  up on every request (why the gateway resolves them once per origin instead);
* ``ProviderCalls``: the gateway's provider client
  (:mod:`plano_asgi.gateway.provider_client`), as the gateway calls it;
* ``http1 pool (before)``: the hand-written HTTP/1.1 pool the gateway used before (only
  in a checkout that still has ``plano_asgi/gateway/http1.py``).

Clients take turns in every round (the order rotates), so all of them see the same machine
state. Measured per client: sequential latency p50/p99 and the client process's CPU per
request; then ``--concurrency`` workers sharing the one client, p50/p99 and requests/s.

Results go to ``bench/results/http_clients.md`` (``--out``) and stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

BODY = json.dumps(
    {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a travel assistant."},
            {"role": "user", "content": "Find me a hotel in Lisbon for two nights next week."},
        ],
    }
).encode()
ANSWER = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hotel Avenida, 2 nights, 240 EUR."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
    }
).encode()
HEADERS = {
    "authorization": "Bearer sk-bench",
    "content-type": "application/json",
    "accept-encoding": "identity",
    "x-request-id": "bench",
}

Call = Callable[[], Awaitable[int]]

DECISION = """## Decision

- **Provider calls (the gateway's hot path): aiohttp**, through
  `plano_asgi/gateway/provider_client.py`. It costs the calling process about a third of
  httpx2's CPU per call and keeps its throughput at 64 concurrent calls, where httpx2's
  pool (h11 plus anyio per read and write) becomes the bottleneck of a gateway process.
  In the gateway (its ASGI app in process, CPU per call, interleaved with the code
  before the change; `bench/results/gateway.md`) httpx2 on this path added more than
  twice what aiohttp adds over the hand-written client it replaces (which was faster
  still, but ignored proxies, leaked a socket on a bad `content-length`, reused HTTP/1.0
  connections and wrote CR/LF header values to the wire).
- **Everything else: httpx2** (`plano_asgi/outbound.py`): agents, HTTP filters, the
  orchestrator router, the CLI, the SDK. It is a hard dependency anyway (`openai`,
  `anthropic` and `mcp` are built on it), those calls are not the per-token hot path, and
  its `transport=` is the seam tests plug into (`httpx2.ASGITransport`,
  `httpx2.MockTransport`); `ModelGateway(client=...)` sends provider calls through such a
  client too.
- `aiohttp trust_env` shows why the gateway resolves proxy variables once per origin: with
  `trust_env=True` aiohttp reads them on every request."""


async def provider_app(scope: Any, receive: Any, send: Any) -> None:
    """Answer every POST with a small JSON body, at once."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": ANSWER})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def provider(port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("provider did not start")
        yield process
    finally:
        process.terminate()
        process.wait(10)


@contextlib.asynccontextmanager
async def httpx2_client(url: str, *, ours: bool) -> AsyncIterator[Call]:
    import httpx2

    if ours:
        from plano_asgi.outbound import outbound_client

        client = outbound_client()
    else:
        client = httpx2.AsyncClient()
    timeout = httpx2.Timeout(connect=5.0, read=30.0, write=5.0, pool=5.0)

    async def call() -> int:
        request = client.build_request("POST", url, headers=HEADERS, content=BODY, timeout=timeout)
        response = await client.send(request, stream=True)
        try:
            async for _ in response.aiter_raw():
                pass
        finally:
            await response.aclose()
        return response.status_code

    async with client:
        yield call


@contextlib.asynccontextmanager
async def aiohttp_client(url: str, *, trust_env: bool = False) -> AsyncIterator[Call]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    session = aiohttp.ClientSession(connector=connector, auto_decompress=False, trust_env=trust_env)
    timeout = aiohttp.ClientTimeout(sock_connect=5.0, sock_read=30.0)

    async def call() -> int:
        async with session.post(url, data=BODY, headers=HEADERS, timeout=timeout) as response:
            async for _ in response.content.iter_any():
                pass
            return response.status

    async with session:
        yield call


@contextlib.asynccontextmanager
async def provider_client(url: str) -> AsyncIterator[Call]:
    from plano_asgi.config import HopTimeouts
    from plano_asgi.gateway.provider_client import ProviderCalls
    from plano_asgi.outbound import AiohttpClient

    seam = AiohttpClient()
    client = ProviderCalls(seam)
    timeouts = HopTimeouts(connect=5.0, first_byte=30.0, idle=30.0)

    async def call() -> int:
        response = await client.post(url, dict(HEADERS), BODY, timeouts)
        try:
            async for _ in response.aiter_raw():
                pass
        finally:
            await response.aclose()
        return response.status_code

    try:
        yield call
    finally:
        await seam.aclose()


@contextlib.asynccontextmanager
async def http1_client(url: str) -> AsyncIterator[Call]:
    from plano_asgi.gateway.http1 import Http1Pool  # type: ignore[import-not-found,unused-ignore]

    pool = Http1Pool()

    async def call() -> int:
        response = await pool.post(
            url, dict(HEADERS), BODY, connect_timeout=5.0, first_byte_timeout=30.0
        )
        try:
            async for _ in response.aiter_raw():
                pass
        finally:
            await response.aclose()
        return int(response.status_code)

    try:
        yield call
    finally:
        await pool.aclose()


def available() -> dict[str, Callable[[str], contextlib.AbstractAsyncContextManager[Call]]]:
    clients: dict[str, Callable[[str], contextlib.AbstractAsyncContextManager[Call]]] = {
        "httpx2 (outbound_client)": lambda url: httpx2_client(url, ours=True),
        "httpx2 default": lambda url: httpx2_client(url, ours=False),
    }
    clients["aiohttp"] = aiohttp_client
    clients["aiohttp trust_env"] = lambda url: aiohttp_client(url, trust_env=True)
    clients["ProviderCalls"] = provider_client
    root = Path(__file__).resolve().parent.parent
    if (root / "plano_asgi" / "gateway" / "http1.py").exists():
        clients["http1 pool (before)"] = http1_client
    return clients


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def sequential(call: Call, count: int, lat: list[float]) -> float:
    """``count`` calls one after the other; returns the CPU seconds this process spent."""
    cpu = time.process_time()
    for _ in range(count):
        start = time.perf_counter()
        status = await call()
        lat.append(time.perf_counter() - start)
        assert status == 200, status
    return time.process_time() - cpu


async def concurrent(call: Call, workers: int, each: int, lat: list[float]) -> float:
    """``workers`` tasks sharing the client, ``each`` calls per task; returns wall seconds."""

    async def worker() -> None:
        for _ in range(each):
            start = time.perf_counter()
            status = await call()
            lat.append(time.perf_counter() - start)
            assert status == 200, status

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - start


async def run(args: argparse.Namespace) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    factories = available()
    names = list(factories)
    seq: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, float] = dict.fromkeys(names, 0.0)
    conc: dict[str, list[float]] = {n: [] for n in names}
    wall: dict[str, float] = dict.fromkeys(names, 0.0)
    per_round = max(1, args.requests // args.rounds)
    each = max(1, per_round // args.concurrency)
    load_start = os.getloadavg()[0]
    with provider(port):
        async with contextlib.AsyncExitStack() as stack:
            calls = {n: await stack.enter_async_context(factories[n](url)) for n in names}
            for call in calls.values():  # warm-up: connections open, code paths hot
                await sequential(call, 50, [])
                await concurrent(call, args.concurrency, 2, [])
            for round_no in range(args.rounds):
                order = names[round_no % len(names) :] + names[: round_no % len(names)]
                for name in order:
                    cpu[name] += await sequential(calls[name], per_round, seq[name])
                for name in order:
                    wall[name] += await concurrent(calls[name], args.concurrency, each, conc[name])
    load_end = os.getloadavg()[0]
    total_conc = args.rounds * args.concurrency * each
    lines = [
        "# Outbound HTTP client cost",
        "",
        f"`python bench/http_clients.py --requests {args.requests} "
        f"--concurrency {args.concurrency} --rounds {args.rounds}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; provider: a minimal ASGI app under uvicorn (h11) in "
        "its own process on 127.0.0.1; clients interleaved in the same run, order rotating "
        f"per round. Load average {load_start:.1f} at the start, {load_end:.1f} at the end.",
        "",
        f"## Sequential ({args.rounds * per_round} requests per client)",
        "",
        "| client | p50 ms | p99 ms | client CPU per request ms |",
        "|---|---|---|---|",
    ]
    for name in names:
        lines.append(
            f"| {name} | {pct(seq[name], 0.5) * 1000:.3f} | {pct(seq[name], 0.99) * 1000:.3f} "
            f"| {cpu[name] / len(seq[name]) * 1000:.3f} |"
        )
    lines += [
        "",
        f"## {args.concurrency} concurrent ({total_conc} requests per client)",
        "",
        "| client | p50 ms | p99 ms | requests/s |",
        "|---|---|---|---|",
    ]
    for name in names:
        lines.append(
            f"| {name} | {pct(conc[name], 0.5) * 1000:.2f} | {pct(conc[name], 0.99) * 1000:.2f} "
            f"| {len(conc[name]) / wall[name]:.0f} |"
        )
    lines.append("")
    means = ", ".join(f"{n} {statistics.fmean(seq[n]) * 1000:.3f} ms" for n in names)
    lines.append(f"Mean sequential latency: {means}.")
    lines += ["", DECISION]
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        import uvicorn

        uvicorn.run(provider_app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                    access_log=False, timeout_keep_alive=60, lifespan="off")  # fmt: skip
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--out", default="bench/results/http_clients.md")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
