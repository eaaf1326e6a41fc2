"""Every hot-path figure of issue 17 in one run, through ``plano-asgi serve`` as users run it.

Usage (from the repository root)::

    python -m bench.hotpath [--requests 1000] [--seconds 4] [--streams 1000] [--out PATH]

Processes: the minimal fake provider of :mod:`bench.gateway_overhead` (it also plays the
single agent: it answers ``/v1/chat/completions`` with a completion or a short SSE stream),
a slow provider of this module (one event, then it holds the stream open until the client
leaves, counting open streams), and ``plano-asgi serve`` on a config with a model listener
(the gateway; models ``gpt-4o-mini`` on the fake and ``slow`` on the slow provider), an
agent listener with one agent (the fake), so the router is never asked, and a second one
whose one agent is the slow provider.

Measured, interleaved in the same run (each path goes first in turn):

* sequential, non-streaming: direct call vs gateway vs agent listener, p50/p99 of the
  per-round difference to the direct call (the added latency);
* streaming: time to the first content event, direct vs gateway vs listener;
* throughput: 64 keep-alive connections for ``--seconds`` per path, rounds alternating
  (one ``serve`` process = one worker = one core's share);
* cancellation: ``--streams`` streams through the gateway to the slow provider, all open at
  once, then every client closes; the time until the provider saw every upstream stream end
  (the target: within 2 s). The same again through an agent listener whose one agent is the
  slow provider.

With LiteLLM installed (its ``litellm`` command beside this Python or on ``PATH``, or named
with ``--litellm CLI``), its proxy runs in front of the same fake provider as one more path
of every phase but cancellation, for comparison (:mod:`bench.litellm_proxy`); it sets no
target and is no dependency. ``--litellm off`` leaves it out.

Writes ``bench/results/hotpath.md`` (``hotpath-litellm.md`` when LiteLLM ran too: its
work shares the cores with the other paths) with the machine (cores, Python), the server
stack, the priority and the ``uptime`` load.
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
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx2

from bench import litellm_proxy
from bench.gateway_overhead import RawConnection, free_port, ms, pct
from bench.workers import _process, _wait_port

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("direct", "gateway", "listener")
TARGETED = ("gateway", "listener")
"""The paths issue 17 sets targets for; ``litellm`` (when installed) is there to compare."""
BODY = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "You are a travel assistant."},
        {"role": "user", "content": "Find me a hotel in Lisbon for two nights next week."},
    ],
}
FIRST = b'data: {"choices": [{"index": 0, "delta": {"content": "Hotel "}}]}\n\n'


class SlowProvider:
    """Streams one event, then holds the stream until the client leaves; counts open streams."""

    def __init__(self) -> None:
        self.open = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":  # GET /open: how many streams are still open
            body = str(self.open).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        while (await receive()).get("more_body"):
            pass
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        self.open += 1
        try:
            await send({"type": "http.response.body", "body": FIRST, "more_body": True})
            while (await receive())["type"] != "http.disconnect":
                pass
        finally:
            self.open -= 1


def serve_slow(port: int) -> None:
    """Child process entry: the slow provider under uvicorn."""
    import uvicorn

    uvicorn.run(SlowProvider(), host="127.0.0.1", port=port, log_level="warning",
                access_log=False, lifespan="off", backlog=4096)  # fmt: skip


def config_text(ports: dict[str, int]) -> str:
    """The served config: the gateway (fast and slow model) and two one-agent listeners (the
    fake, and the slow provider as an agent)."""
    return f"""version: v0.4.0
agents:
  - id: fake
    url: http://127.0.0.1:{ports["direct"]}
  - id: slow
    url: http://127.0.0.1:{ports["slow"]}
listeners:
  - type: model
    name: llm
    port: {ports["gateway"]}
  - type: agent
    name: agents
    port: {ports["listener"]}
    agents:
      - id: fake
        description: the fake provider, answering as an agent
  - type: agent
    name: slow-agents
    port: {ports["slow_listener"]}
    agents:
      - id: slow
        description: the slow provider, answering as an agent
model_providers:
  - model: openai/gpt-4o-mini
    base_url: http://127.0.0.1:{ports["direct"]}/v1
    access_key: sk-bench
  - model: openai/slow
    base_url: http://127.0.0.1:{ports["slow"]}/v1
    access_key: sk-bench
"""


def urls(ports: dict[str, int], names: tuple[str, ...]) -> dict[str, str]:
    return {name: f"http://127.0.0.1:{ports[name]}/v1/chat/completions" for name in names}


def order(i: int, names: tuple[str, ...]) -> tuple[str, ...]:
    """Round ``i``'s order: each path goes first as often as every other."""
    k = i % len(names)
    return names[k:] + names[:k]


async def post(client: httpx2.AsyncClient, url: str) -> float:
    start = time.perf_counter()
    response = await client.post(url, json=BODY)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.text
    return elapsed


async def first_token(client: httpx2.AsyncClient, url: str) -> float:
    start = time.perf_counter()
    ttft = 0.0
    async with client.stream("POST", url, json={**BODY, "stream": True}) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_raw():
            if not ttft and b"Hotel" in chunk:
                ttft = time.perf_counter() - start
    assert ttft, "no content event"
    return ttft


async def latency(target: dict[str, str], requests: int) -> dict[str, dict[str, list[float]]]:
    """Sequential latency and TTFT per path, interleaved round by round."""
    names = tuple(target)
    out: dict[str, dict[str, list[float]]] = {
        "post": {n: [] for n in names},
        "ttft": {n: [] for n in names},
    }
    limits = httpx2.Limits(max_keepalive_connections=16, keepalive_expiry=30)
    async with httpx2.AsyncClient(limits=limits, timeout=30) as client:
        for i in range(100):  # warm-up: pools, code paths
            for name in order(i, names):
                await post(client, target[name])
                await first_token(client, target[name])
        for i in range(requests):
            for name in order(i, names):
                out["post"][name].append(await post(client, target[name]))
        for i in range(requests // 2):
            for name in order(i, names):
                out["ttft"][name].append(await first_token(client, target[name]))
    return out


async def load(port: int, seconds: float, concurrency: int) -> int:
    """Requests answered in ``seconds`` over ``concurrency`` keep-alive connections."""
    payload = json.dumps(BODY).encode()
    connections = [await RawConnection.open(port) for _ in range(concurrency)]
    done = 0
    stop = time.perf_counter() + seconds

    async def worker(connection: RawConnection) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            assert await connection.post("/v1/chat/completions", payload) == 200
            done += 1

    await asyncio.gather(*(worker(c) for c in connections))
    for connection in connections:
        await connection.close()
    return done


async def throughput(
    ports: dict[str, int], names: tuple[str, ...], args: argparse.Namespace
) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {n: [] for n in names}
    for name in names:
        await load(ports[name], 0.5, args.concurrency)  # warm the connections
    for i in range(args.rounds):
        for name in order(i, names):
            rates[name].append(
                await load(ports[name], args.seconds, args.concurrency) / args.seconds
            )
    return rates


async def open_streams(client: httpx2.AsyncClient, slow_port: int) -> int:
    return int((await client.get(f"http://127.0.0.1:{slow_port}/open")).text)


async def cancel_check(port: int, slow_port: int, streams: int) -> dict[str, float]:
    """Open ``streams`` streams through ``port`` (the gateway or the slow agent's listener),
    close every client, time until the slow provider saw every upstream stream end."""
    payload = json.dumps({**BODY, "model": "slow", "stream": True}).encode()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n"
    ).encode()

    async def one() -> asyncio.StreamWriter:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head + payload)
        await reader.readuntil(b"Hotel")  # the first event made it through
        return writer

    async with httpx2.AsyncClient(timeout=10) as probe:
        start = time.perf_counter()
        writers = await asyncio.gather(*(one() for _ in range(streams)))
        opened = time.perf_counter() - start
        held = await open_streams(probe, slow_port)
        start = time.perf_counter()
        for writer in writers:
            writer.transport.abort()
        remaining = held
        while remaining and time.perf_counter() - start < 10:
            await asyncio.sleep(0.01)
            remaining = await open_streams(probe, slow_port)
        freed = time.perf_counter() - start
    return {"opened": opened, "held": held, "freed": freed, "left": remaining}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


async def run(args: argparse.Namespace, ports: dict[str, int]) -> dict[str, Any]:
    names = (*PATHS, "litellm") if "litellm" in ports else PATHS
    target = urls(ports, names)
    results: dict[str, Any] = await latency(target, args.requests)
    results["rps"] = await throughput(ports, names, args)
    results["cancel"] = {
        name: await cancel_check(ports[port], ports["slow"], args.streams)
        for name, port in (("gateway", "gateway"), ("listener", "slow_listener"))
    }
    return results


def stack() -> str:
    """What the served stack runs on: uvicorn, and its HTTP parser and event loop if installed."""
    parts = []
    for name, fallback in (("uvicorn", "?"), ("httptools", "h11"), ("uvloop", "asyncio loop")):
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"no {name} ({fallback})")
    return ", ".join(parts)


def verdict(r: dict[str, Any]) -> list[str]:
    """One line per target of issue 17: the figure of this run, met or missed."""
    post, ttft, rps = r["post"], r["ttft"], r["rps"]
    lines = ["## Against the targets", ""]
    for name in ("gateway", "listener"):
        added = pct([a - d for a, d in zip(post[name], post["direct"], strict=True)], 0.5)
        first = pct(ttft[name], 0.5) - pct(ttft["direct"], 0.5)
        rate = statistics.median(rps[name])
        checks = [
            f"added p50 {ms(added)} ms ({'met' if added <= 0.001 else 'missed'})",
            f"TTFT added {ms(first)} ms ({'met' if first <= 0.001 else 'missed'})",
            f"{rate:,.0f} req/s ({'met' if rate >= 1000 else 'missed'})",
        ]
        lines.append(f"- {name}: " + "; ".join(checks) + ".")
    for name, c in r["cancel"].items():
        freed = c["left"] == 0 and c["freed"] <= 2.0
        lines.append(
            f"- cancellation through the {name}: {c['held']:.0f} streams freed upstream in "
            f"{c['freed']:.2f} s ({'met' if freed else 'missed'})."
        )
    return [*lines, ""]


def report(args: argparse.Namespace, r: dict[str, Any], loads: tuple[str, str]) -> str:
    post, ttft, rps, cancel = r["post"], r["ttft"], r["rps"], r["cancel"]
    names = tuple(post)
    compared = [f"- compared with: LiteLLM proxy {r['litellm']}"] if "litellm" in r else []
    rows = [
        "# The hot path: what `plano-asgi serve` adds, in one run",
        "",
        f"`python -m bench.hotpath --requests {args.requests} --seconds {args.seconds:g} "
        f"--rounds {args.rounds} --concurrency {args.concurrency} --streams {args.streams}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; the fake provider, `plano-asgi serve` (one process, "
        "uvicorn as `serve` configures it) and the client share the machine. Every path is "
        "interleaved in the same run.",
        "",
        f"- server stack: {stack()}",
        *compared,
        f"- priority: nice {os.nice(0)} (the client; the servers it starts inherit it)",
        f"- `uptime` at the start: `{loads[0]}`",
        f"- `uptime` at the end: `{loads[1]}`",
        "",
        f"## Sequential, non-streaming ({args.requests} rounds; added = per-round difference)",
        "",
        "| path | p50 ms | p99 ms | added p50 ms | added p99 ms | target |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        added = [a - d for a, d in zip(post[name], post["direct"], strict=True)]
        extra = "added p50 <= 1.0 ms" if name in TARGETED else ""
        rows.append(
            f"| {name} | {ms(pct(post[name], 0.5))} | {ms(pct(post[name], 0.99))} | "
            f"{ms(pct(added, 0.5))} | {ms(pct(added, 0.99))} | {extra} |"
        )
    rows += [
        "",
        f"## Streaming: time to first token ({args.requests // 2} rounds)",
        "",
        "| path | TTFT p50 ms | TTFT p99 ms | added p50 ms | target |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        added50 = pct(ttft[name], 0.5) - pct(ttft["direct"], 0.5)
        extra = "<= 1.0 ms" if name in TARGETED else ""
        rows.append(
            f"| {name} | {ms(pct(ttft[name], 0.5))} | {ms(pct(ttft[name], 0.99))} | "
            f"{ms(added50)} | {extra} |"
        )
    rows += [
        "",
        f"## Throughput: {args.concurrency} keep-alive connections, one `serve` process",
        "",
        "| path | req/s (median of rounds) | rounds | vs direct | target |",
        "|---|---|---|---|---|",
    ]
    base = statistics.median(rps["direct"])
    for name in names:
        median = statistics.median(rps[name])
        rounds = ", ".join(f"{v:.0f}" for v in rps[name])
        extra = ">= 1,000 req/s" if name in TARGETED else ""
        rows.append(f"| {name} | **{median:.0f}** | {rounds} | {median / base:.2f}x | {extra} |")
    rows += [
        "",
        f"## Cancellation: {args.streams} streams open at once, then every client leaves",
        "",
        "| path | opened in s | held upstream | all freed upstream in s | still open | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in cancel.items():
        rows.append(
            f"| {name} | {c['opened']:.2f} | {c['held']:.0f} | **{c['freed']:.2f}** | "
            f"{c['left']:.0f} | all freed within 2 s |"
        )
    rows += ["", *verdict(r)]
    return "\n".join(rows)


@contextlib.contextmanager
def litellm(cli: str | None, folder: Path, ports: dict[str, int]) -> Iterator[None]:
    """LiteLLM's proxy on ``ports["litellm"]`` in front of the fake provider (if ``cli``)."""
    if cli is None:
        yield
        return
    config = folder / "litellm.yaml"
    config.write_text(litellm_proxy.config_text(ports["direct"]), encoding="utf-8")
    command = litellm_proxy.proxy_command(cli, config, ports["litellm"])
    process = subprocess.Popen(
        command, env=litellm_proxy.proxy_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_port(ports["litellm"])
        yield
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument(
        "--out", type=Path, help="default: bench/results/hotpath.md (hotpath-litellm.md with it)"
    )
    parser.add_argument(
        "--litellm",
        default="auto",
        metavar="auto|off|CLI",
        help="also run LiteLLM's proxy as a path to compare (default: when installed)",
    )
    parser.add_argument("--serve-slow", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_slow:
        serve_slow(args.serve_slow)
        return
    cli = litellm_proxy.find_cli(args.litellm)
    extra = ("litellm",) if cli else ()
    ports = {name: free_port() for name in (*PATHS, "slow", "slow_listener", *extra)}
    provider = [sys.executable, str(ROOT / "bench" / "gateway_overhead.py"), "--serve",
                "provider", str(ports["direct"]), "0"]  # fmt: skip
    slow = [sys.executable, "-m", "bench.hotpath", "--serve-slow", str(ports["slow"])]
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "plano_config.yaml"
        config.write_text(config_text(ports), encoding="utf-8")
        serve = [sys.executable, "-m", "plano_asgi", "serve", str(config), "--host", "127.0.0.1",
                 "--no-implicit-model-listener"]  # fmt: skip
        with (
            _process(provider, ports["direct"], ROOT),
            _process(slow, ports["slow"], ROOT),
            _process(serve, ports["listener"], ROOT),
            litellm(cli, Path(folder), ports),
        ):
            before = uptime()
            results = asyncio.run(run(args, ports))
            after = uptime()
    if cli:
        results["litellm"] = litellm_proxy.version(cli)
    text = report(args, results, (before, after))
    print(text)
    # LiteLLM's own work shares the cores with the other paths: its runs keep their own file.
    name = "hotpath-litellm.md" if cli else "hotpath.md"
    (args.out or ROOT / "bench" / "results" / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
