"""CPU per gateway call in this process: the gateway's code and its provider client.

Run from the repository root (or, for a before/after comparison, from another checkout
with ``PYTHONPATH`` pointing at it)::

    python bench/gateway_cpu.py [--requests 1500]

A fake provider runs under uvicorn in a child process (``bench/gateway_overhead.py``'s);
this process calls the ``ModelGateway`` ASGI app directly (no server in front) and, for
scale, the provider over a raw keep-alive connection, alternating, and prints the CPU
seconds this process spent per pair in milliseconds. CPU time is less sensitive to other
jobs on the machine than latency, so interleaved runs of two checkouts compare well.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gateway_overhead


async def main(requests: int) -> float:
    port = gateway_overhead.free_port()
    with gateway_overhead.child("provider", port, 0):
        await gateway_overhead.in_process(port, 200)  # warm-up: connections, code paths
        start = time.process_time()
        await gateway_overhead.in_process(port, requests)
        return (time.process_time() - start) / requests * 1000


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1500)
    print(f"{asyncio.run(main(parser.parse_args().requests)):.3f} ms CPU per call")
