"""What the model gateway adds to a call, against calling the same provider directly.

Run from the repository root::

    python bench/gateway_overhead.py [--requests 1000] [--concurrency 64] [--out PATH]

Layout (three processes, as in production): a fake OpenAI-compatible provider (a raw ASGI
app that answers at once) under uvicorn; the gateway (``ModelGateway`` for a config whose
only provider is that fake) under uvicorn; and this process, the client (one pooled
``httpx2.AsyncClient``). Every measurement is interleaved in the same run: each sequential
iteration calls the provider directly and through the gateway, alternating which goes
first, so both see the same machine state.

Measured:

* sequential non-streaming latency: p50/p99 of direct, via gateway, and of the per-pair
  difference (the added latency);
* 64 concurrent requests: p50/p99 latency and throughput, direct vs gateway, in
  alternating rounds;
* streaming: time to first token (first content event) and to the end, direct vs gateway;
* gateway memory: RSS after start, after the sequential runs, after the concurrent runs.

Results go to ``bench/results/gateway.md`` (markdown) and stdout.
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
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

BODY = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "You are a travel assistant."},
        {"role": "user", "content": "Find me a hotel in Lisbon for two nights next week."},
    ],
}
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
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


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(data).encode() + b"\n\n"


STREAM = [
    _chunk({"role": "assistant", "content": ""}),
    *(_chunk({"content": word}) for word in ("Hotel ", "Avenida, ", "2 nights, ", "240 EUR.")),
    _chunk({}, "stop"),
    b"data: [DONE]\n\n",
]


async def provider_app(scope: Any, receive: Any, send: Any) -> None:
    """The fake provider: answers at once, JSON or a short SSE stream."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if b'"stream":true' in body.replace(b" ", b""):
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for piece in STREAM:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(COMPLETION))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": COMPLETION})


def serve(role: str, port: int, provider_port: int) -> None:
    """Child process entry: run the provider or the gateway under uvicorn."""
    import uvicorn

    app: Any = provider_app
    if role == "gateway":
        from plano_asgi.config import PlanoConfig
        from plano_asgi.gateway.app import ModelGateway

        config = PlanoConfig.from_dict(
            {
                "version": "v0.4.0",
                "listeners": [{"type": "model", "name": "llm", "port": port}],
                "model_providers": [
                    {
                        "model": "openai/gpt-4o-mini",
                        "base_url": f"http://127.0.0.1:{provider_port}/v1",
                        "access_key": "sk-bench",
                    }
                ],
            }
        )
        app = ModelGateway(config=config)
    # Keep-alive longer than the client's pool expiry, so no request races a server close.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                timeout_keep_alive=60, lifespan="on" if role == "gateway" else "off")  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def child(role: str, port: int, provider_port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", role, str(port), str(provider_port)],
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{role} did not start")
        yield process
    finally:
        process.terminate()
        process.wait(10)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class RawConnection:
    """A minimal keep-alive HTTP/1.1 client connection for the load phase.

    httpx2's connection pool costs the client process more CPU per request as connections
    grow, which on a small machine makes the load generator, not the servers, the
    bottleneck at 64 concurrent requests. One raw connection per worker avoids that.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> RawConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes) -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        )
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def in_process(provider_port: int, requests: int) -> tuple[list[float], list[float]]:
    """The gateway app called through ASGI in this process vs the same call made direct.

    No server in front of the gateway, so the difference is the gateway's own code (parse,
    resolve, prepare, relay, its HTTP client) without uvicorn's HTTP parsing or another
    process hop. The direct call uses a raw keep-alive connection, the leanest baseline.
    """
    from plano_asgi.config import PlanoConfig
    from plano_asgi.gateway.app import ModelGateway

    config = PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "listeners": [{"type": "model", "name": "llm", "port": 1}],
            "model_providers": [
                {
                    "model": "openai/gpt-4o-mini",
                    "base_url": f"http://127.0.0.1:{provider_port}/v1",
                    "access_key": "sk-bench",
                }
            ],
        }
    )
    body = json.dumps(BODY).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
    }
    raw = await RawConnection.open(provider_port)
    async with ModelGateway(config=config) as gateway:

        async def via_asgi() -> None:
            done = asyncio.Event()
            messages = [{"type": "http.request", "body": body, "more_body": False}]
            sent: list[Any] = []

            async def receive() -> Any:
                if messages:
                    return messages.pop()
                await done.wait()
                return {"type": "http.disconnect"}

            async def send(message: Any) -> None:
                sent.append(message)

            await gateway(scope, receive, send)
            done.set()
            assert sent[0]["status"] == 200

        async def direct() -> None:
            assert await raw.post("/v1/chat/completions", body) == 200

        for _ in range(200):
            await via_asgi()
            await direct()
        gateway_times: list[float] = []
        direct_times: list[float] = []
        for i in range(requests):
            order = [via_asgi, direct] if i % 2 else [direct, via_asgi]
            for call in order:
                (gateway_times if call is via_asgi else direct_times).append(await timed(call))
    await raw.close()
    return gateway_times, direct_times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(value: float) -> str:
    return f"{value * 1000:.2f}"


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


PER_WORKER = 10
"""Requests each concurrent worker sends per round."""


@dataclass
class Measured:
    """Every figure of one run, for :func:`report`."""

    direct: list[float] = field(default_factory=list)
    via: list[float] = field(default_factory=list)
    cpu_gateway: float = 0.0
    cpu_provider: float = 0.0
    ttft: dict[str, list[float]] = field(default_factory=lambda: {"direct": [], "gateway": []})
    complete: dict[str, list[float]] = field(default_factory=lambda: {"direct": [], "gateway": []})
    conc: dict[str, list[float]] = field(default_factory=lambda: {"direct": [], "gateway": []})
    wall: dict[str, float] = field(default_factory=lambda: {"direct": 0.0, "gateway": 0.0})
    rss: dict[str, float] = field(default_factory=dict)
    load: dict[str, float] = field(default_factory=dict)
    asgi_times: list[float] = field(default_factory=list)
    asgi_direct: list[float] = field(default_factory=list)

    @property
    def added(self) -> list[float]:
        return [g - d for g, d in zip(self.via, self.direct, strict=True)]


class Paths:
    """The provider directly and through the gateway, called with one pooled client."""

    def __init__(self, client: httpx2.AsyncClient, provider_port: int, gateway_port: int):
        self.client = client
        self.urls = {
            "direct": f"http://127.0.0.1:{provider_port}/v1/chat/completions",
            "gateway": f"http://127.0.0.1:{gateway_port}/v1/chat/completions",
        }

    async def post(self, name: str) -> None:
        response = await self.client.post(self.urls[name], json=BODY)
        assert response.status_code == 200, response.text

    async def first_token(self, name: str) -> tuple[float, float]:
        """Seconds to the first content event, and to the end of the stream."""
        start = time.perf_counter()
        ttft = 0.0
        body = {**BODY, "stream": True}
        async with self.client.stream("POST", self.urls[name], json=body) as response:
            async for chunk in response.aiter_raw():
                if not ttft and b'"content": "Hotel' in chunk.replace(b'":"', b'": "'):
                    ttft = time.perf_counter() - start
            assert response.status_code == 200
        return ttft, time.perf_counter() - start


def interleaved(i: int) -> tuple[str, str]:
    """Which path goes first in pair ``i``: each goes first half the time."""
    return ("direct", "gateway") if i % 2 else ("gateway", "direct")


async def warm_up(paths: Paths) -> None:
    for _ in range(200):  # warm both paths and the pools
        for name in ("direct", "gateway"):
            await paths.post(name)
            await paths.first_token(name)


async def sequential(paths: Paths, requests: int, m: Measured, pids: dict[str, int]) -> None:
    cpu_gateway, cpu_provider = cpu_seconds(pids["gateway"]), cpu_seconds(pids["direct"])
    for i in range(requests):
        for name in interleaved(i):
            (m.direct if name == "direct" else m.via).append(
                await timed(lambda name=name: paths.post(name))  # type: ignore[misc]
            )
    m.cpu_gateway = (cpu_seconds(pids["gateway"]) - cpu_gateway) / requests
    m.cpu_provider = (cpu_seconds(pids["direct"]) - cpu_provider) / (2 * requests)


async def streaming(paths: Paths, pairs: int, m: Measured) -> None:
    for i in range(pairs):
        for name in interleaved(i):
            first, total = await paths.first_token(name)
            m.ttft[name].append(first)
            m.complete[name].append(total)


async def concurrent(ports: dict[str, int], args: argparse.Namespace, m: Measured) -> None:
    """Rounds of ``concurrency`` workers per path, each on its own raw connection."""
    payload = json.dumps(BODY).encode()
    pools = {
        name: [await RawConnection.open(port) for _ in range(args.concurrency)]
        for name, port in ports.items()
    }

    async def worker(conn: RawConnection, name: str) -> None:
        for _ in range(PER_WORKER):
            start = time.perf_counter()
            status = await conn.post("/v1/chat/completions", payload)
            m.conc[name].append(time.perf_counter() - start)
            assert status == 200

    for round_index in range(args.rounds):
        for name in interleaved(round_index):
            start = time.perf_counter()
            await asyncio.gather(*(worker(conn, name) for conn in pools[name]))
            m.wall[name] += time.perf_counter() - start
    for conns in pools.values():
        for conn in conns:
            await conn.close()


async def main(args: argparse.Namespace) -> str:
    provider_port, gateway_port = free_port(), free_port()
    limits = httpx2.Limits(max_connections=256, max_keepalive_connections=256, keepalive_expiry=30)
    m = Measured()
    with (
        child("provider", provider_port, 0) as provider,
        child("gateway", gateway_port, provider_port) as gw,
    ):
        pids = {"direct": provider.pid, "gateway": gw.pid}
        async with httpx2.AsyncClient(limits=limits, timeout=30) as client:
            paths = Paths(client, provider_port, gateway_port)
            await warm_up(paths)
            m.rss["start"] = rss_mib(gw.pid)
            m.load["start"] = os.getloadavg()[0]
            await sequential(paths, args.requests, m, pids)
            await streaming(paths, args.requests // 2, m)
            m.rss["seq"] = rss_mib(gw.pid)
            await concurrent({"direct": provider_port, "gateway": gateway_port}, args, m)
            m.rss["conc"] = rss_mib(gw.pid)
        m.asgi_times, m.asgi_direct = await in_process(provider_port, args.requests)
        m.load["end"] = os.getloadavg()[0]
    return report(args, m)


def report(args: argparse.Namespace, m: Measured) -> str:
    """The results as Markdown (bench/results/gateway.md)."""
    direct, via, added = m.direct, m.via, m.added
    cpu_gateway, cpu_provider = m.cpu_gateway, m.cpu_provider
    asgi_times, asgi_direct = m.asgi_times, m.asgi_direct
    conc, wall = m.conc, m.wall
    ttft_direct, ttft_via = m.ttft["direct"], m.ttft["gateway"]
    total_direct, total_via = m.complete["direct"], m.complete["gateway"]
    rss_start, rss_seq, rss_conc = m.rss["start"], m.rss["seq"], m.rss["conc"]
    load_start, load_end = m.load["start"], m.load["end"]
    total = args.rounds * args.concurrency * PER_WORKER
    rows = [
        "# Model gateway overhead",
        "",
        f"`python bench/gateway_overhead.py --requests {args.requests} "
        f"--concurrency {args.concurrency} --rounds {args.rounds}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, uvicorn (h11, asyncio) for provider and gateway, "
        "httpx2 client; three processes on 127.0.0.1; direct and gateway calls interleaved "
        f"in the same run. Load average {load_start:.1f} at the start, {load_end:.1f} at the "
        "end (other jobs shared the machine: compare rows, not absolute numbers).",
        "",
        f"## Sequential, non-streaming ({args.requests} pairs)",
        "",
        "| | p50 ms | p99 ms |",
        "|---|---|---|",
        f"| direct to provider | {ms(pct(direct, 0.5))} | {ms(pct(direct, 0.99))} |",
        f"| through the gateway | {ms(pct(via, 0.5))} | {ms(pct(via, 0.99))} |",
        f"| **added** (per-pair difference) | **{ms(pct(added, 0.5))}** "
        f"| **{ms(pct(added, 0.99))}** |",
        "",
        f"CPU per request: gateway process {cpu_gateway * 1000:.2f} ms (its HTTP server, our "
        f"code and its HTTP client); provider process {cpu_provider * 1000:.2f} ms (one "
        "minimal ASGI app behind uvicorn, for scale).",
        "",
        f"### The gateway's own code ({args.requests} pairs, in process, no server in front)",
        "",
        "| | p50 ms | p99 ms |",
        "|---|---|---|",
        f"| raw HTTP/1.1 call to the provider | {ms(pct(asgi_direct, 0.5))} | "
        f"{ms(pct(asgi_direct, 0.99))} |",
        f"| gateway ASGI app (which makes that call) | {ms(pct(asgi_times, 0.5))} | "
        f"{ms(pct(asgi_times, 0.99))} |",
        f"| **added by the gateway's code** | "
        f"**{ms(pct(asgi_times, 0.5) - pct(asgi_direct, 0.5))}** | "
        f"{ms(pct(asgi_times, 0.99) - pct(asgi_direct, 0.99))} |",
        "",
        f"## {args.concurrency} concurrent requests ({total} requests per path)",
        "",
        f"{args.concurrency} workers, each on its own keep-alive connection (a raw HTTP/1.1 "
        "client, so the load generator is not the bottleneck), 10 requests each per round, "
        "direct and gateway rounds alternating.",
        "",
        "| | p50 ms | p99 ms | requests/s |",
        "|---|---|---|---|",
        f"| direct to provider | {ms(pct(conc['direct'], 0.5))} | "
        f"{ms(pct(conc['direct'], 0.99))} | {total / wall['direct']:.0f} |",
        f"| through the gateway | {ms(pct(conc['gateway'], 0.5))} | "
        f"{ms(pct(conc['gateway'], 0.99))} | {total / wall['gateway']:.0f} |",
        f"| added (p50 difference) | {ms(pct(conc['gateway'], 0.5) - pct(conc['direct'], 0.5))}"
        f" | {ms(pct(conc['gateway'], 0.99) - pct(conc['direct'], 0.99))} | |",
        "",
        f"## Streaming ({args.requests // 2} pairs, 6 events per answer)",
        "",
        "| | TTFT p50 ms | TTFT p99 ms | complete p50 ms |",
        "|---|---|---|---|",
        f"| direct to provider | {ms(pct(ttft_direct, 0.5))} | {ms(pct(ttft_direct, 0.99))} | "
        f"{ms(pct(total_direct, 0.5))} |",
        f"| through the gateway | {ms(pct(ttft_via, 0.5))} | {ms(pct(ttft_via, 0.99))} | "
        f"{ms(pct(total_via, 0.5))} |",
        f"| added | {ms(pct(ttft_via, 0.5) - pct(ttft_direct, 0.5))} | "
        f"{ms(pct(ttft_via, 0.99) - pct(ttft_direct, 0.99))} | "
        f"{ms(pct(total_via, 0.5) - pct(total_direct, 0.5))} |",
        "",
        "## Gateway memory (RSS of the gateway process)",
        "",
        f"after warm-up {rss_start:.1f} MiB; after the sequential runs {rss_seq:.1f} MiB; "
        f"after the concurrent runs {rss_conc:.1f} MiB.",
        "",
        f"Mean added latency, sequential: {statistics.fmean(added) * 1000:.2f} ms.",
    ]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--out", default="bench/results/gateway.md")
    arguments = parser.parse_args()
    text = asyncio.run(main(arguments))
    print(text)
    if arguments.out:
        Path(arguments.out).write_text(text)
