"""Throughput of ``plano-asgi serve`` with 1, 2 ... N worker processes.

Usage: ``python -m bench.workers [--workers 1 2] [--rounds 3] [--seconds 4]
[--concurrency 64] [--out bench/results/workers.md]``

The model gateway (one provider: the minimal fake of :mod:`bench.gateway_overhead`, in
its own process) is served by ``plano-asgi serve --workers N``; 64 keep-alive
connections (a raw HTTP/1.1 client, so the load generator stays cheap) send
non-streaming chat requests for a fixed time. Worker counts alternate round by round in
the same run, so load from elsewhere hits them alike; the table gives the median round.
On a machine with few cores the provider and the load generator share the cores with the
workers: compare the rows, and expect scaling up to the cores left over.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.gateway_overhead import RawConnection, free_port

ROOT = Path(__file__).resolve().parent.parent
BODY = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'


def _wait_port(port: int, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@contextlib.contextmanager
def _process(args: list[str], port: int, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    # Every request logs an access line: a pipe nobody reads would stall the server.
    process = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        yield process
    finally:
        process.terminate()
        process.wait(30)


async def _load(port: int, seconds: float, concurrency: int) -> tuple[int, int]:
    """Requests answered (and how many were not 200) in ``seconds`` over ``concurrency``
    connections."""
    connections = [await RawConnection.open(port) for _ in range(concurrency)]
    done = failed = 0
    stop = time.perf_counter() + seconds

    async def worker(connection: RawConnection) -> None:
        nonlocal done, failed
        while time.perf_counter() < stop:
            status = await connection.post("/v1/chat/completions", BODY)
            done += 1
            failed += status != 200

    await asyncio.gather(*(worker(c) for c in connections))
    for connection in connections:
        await connection.close()
    return done, failed


def _round(workers: int, config: Path, port: int, seconds: float, concurrency: int) -> float:
    args = [sys.executable, "-m", "plano_asgi", "serve", str(config), "--host", "127.0.0.1"]
    if workers > 1:
        args += ["--workers", str(workers)]
    with _process(args, port, config.parent):
        asyncio.run(_load(port, 1.0, concurrency))  # warm every worker's connections
        done, failed = asyncio.run(_load(port, seconds, concurrency))
    if failed:
        raise RuntimeError(f"{failed} of {done} requests failed with {workers} workers")
    return done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    gateway_port, provider_port = free_port(), free_port()
    load_before = os.getloadavg()[0]
    rates: dict[int, list[float]] = {n: [] for n in args.workers}
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "plano_config.yaml"
        config.write_text(
            "version: v0.4.0\nlisteners:\n  - type: model\n    name: llm\n"
            f"    port: {gateway_port}\nmodel_providers:\n  - model: openai/gpt-4o-mini\n"
            f"    base_url: http://127.0.0.1:{provider_port}/v1\n    access_key: sk-bench\n",
            encoding="utf-8",
        )
        provider = [
            sys.executable,
            str(ROOT / "bench" / "gateway_overhead.py"),
            "--serve",
            "provider",
            str(provider_port),
            "0",
        ]
        with _process(provider, provider_port, ROOT):
            for _ in range(args.rounds):
                for workers in args.workers:
                    rate = _round(workers, config, gateway_port, args.seconds, args.concurrency)
                    rates[workers].append(rate)
                    print(f"{workers} worker(s): {rate:.0f} req/s", file=sys.stderr)
    base = statistics.median(rates[args.workers[0]])
    lines = [
        "# `plano-asgi serve --workers N`: throughput",
        "",
        f"`python -m bench.workers --workers {' '.join(map(str, args.workers))} "
        f"--rounds {args.rounds} --seconds {args.seconds:g} --concurrency {args.concurrency}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; the fake provider, the load generator ({args.concurrency} "
        "keep-alive connections, non-streaming chat requests) and the workers share the "
        f"machine. Load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at "
        "the end (other jobs ran beside it: compare rows, not absolute numbers).",
        "",
        "| workers | req/s (median of rounds) | rounds | vs 1 worker |",
        "|---|---|---|---|",
    ]
    for workers in args.workers:
        median = statistics.median(rates[workers])
        rounds = ", ".join(f"{r:.0f}" for r in rates[workers])
        lines.append(f"| {workers} | **{median:.0f}** | {rounds} | {median / base:.2f}x |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out is not None:
        args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
