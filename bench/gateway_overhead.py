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


async def main(args: argparse.Namespace) -> str:
    provider_port, gateway_port = free_port(), free_port()
    direct_url = f"http://127.0.0.1:{provider_port}/v1/chat/completions"
    gateway_url = f"http://127.0.0.1:{gateway_port}/v1/chat/completions"
    limits = httpx2.Limits(max_connections=256, max_keepalive_connections=256, keepalive_expiry=30)
    with (
        child("provider", provider_port, 0) as provider,
        child("gateway", gateway_port, provider_port) as gw,
    ):
        async with httpx2.AsyncClient(limits=limits, timeout=30) as client:

            async def post(url: str) -> None:
                response = await client.post(url, json=BODY)
                assert response.status_code == 200, response.text

            async def first_token(url: str) -> tuple[float, float]:
                start = time.perf_counter()
                ttft = 0.0
                body = {**BODY, "stream": True}
                async with client.stream("POST", url, json=body) as response:
                    async for chunk in response.aiter_raw():
                        if not ttft and b'"content": "Hotel' in chunk.replace(b'":"', b'": "'):
                            ttft = time.perf_counter() - start
                    assert response.status_code == 200
                return ttft, time.perf_counter() - start

            for _ in range(200):  # warm both paths and the pools
                await post(direct_url)
                await post(gateway_url)
                await first_token(direct_url)
                await first_token(gateway_url)
            rss_start = rss_mib(gw.pid)

            direct: list[float] = []
            via: list[float] = []
            load_start = os.getloadavg()[0]
            cpu_gateway = cpu_seconds(gw.pid)
            cpu_provider = cpu_seconds(provider.pid)
            for i in range(args.requests):
                pair = [direct_url, gateway_url] if i % 2 else [gateway_url, direct_url]
                for url in pair:
                    (direct if url == direct_url else via).append(
                        await timed(lambda url=url: post(url))  # type: ignore[misc]
                    )
            added = [g - d for g, d in zip(via, direct, strict=True)]
            cpu_gateway = (cpu_seconds(gw.pid) - cpu_gateway) / args.requests
            cpu_provider = (cpu_seconds(provider.pid) - cpu_provider) / (2 * args.requests)

            ttft_direct: list[float] = []
            ttft_via: list[float] = []
            total_direct: list[float] = []
            total_via: list[float] = []
            for i in range(args.requests // 2):
                pair = [direct_url, gateway_url] if i % 2 else [gateway_url, direct_url]
                for url in pair:
                    first, total = await first_token(url)
                    if url == direct_url:
                        ttft_direct.append(first)
                        total_direct.append(total)
                    else:
                        ttft_via.append(first)
                        total_via.append(total)
            rss_seq = rss_mib(gw.pid)

            conc: dict[str, list[float]] = {"direct": [], "gateway": []}
            wall: dict[str, float] = {"direct": 0.0, "gateway": 0.0}
            per_worker = 10
            payload = json.dumps(BODY).encode()
            ports = {"direct": provider_port, "gateway": gateway_port}
            pools = {
                name: [await RawConnection.open(port) for _ in range(args.concurrency)]
                for name, port in ports.items()
            }
            for round_index in range(args.rounds):
                order = ["direct", "gateway"] if round_index % 2 else ["gateway", "direct"]
                for name in order:

                    async def worker(conn: RawConnection, name: str = name) -> None:
                        for _ in range(per_worker):
                            start = time.perf_counter()
                            status = await conn.post("/v1/chat/completions", payload)
                            conc[name].append(time.perf_counter() - start)
                            assert status == 200

                    start = time.perf_counter()
                    await asyncio.gather(*(worker(conn) for conn in pools[name]))
                    wall[name] += time.perf_counter() - start
            for conns in pools.values():
                for conn in conns:
                    await conn.close()
            rss_conc = rss_mib(gw.pid)
        asgi_times, asgi_direct = await in_process(provider_port, args.requests)
        load_end = os.getloadavg()[0]

    total = args.rounds * args.concurrency * per_worker
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
    report = asyncio.run(main(arguments))
    print(report)
    if arguments.out:
        Path(arguments.out).write_text(report)
