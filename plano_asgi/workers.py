"""``plano-asgi serve --workers N``: N processes serving the same listeners on the same ports.

The parent binds one listening socket per listener, then starts ``N`` worker processes
(``spawn``, so nothing of the parent's event loop or imports is inherited) that each load
the config and serve every listener on those sockets; the kernel hands each new
connection to one of them. The parent only supervises:

* SIGINT/SIGTERM: every worker gets SIGTERM and finishes its requests in flight
  (uvicorn's graceful shutdown, 5 s), then the parent exits 0; a worker still running
  after :data:`SHUTDOWN_GRACE` seconds is killed.
* A worker that dies is started again; one that dies within :data:`EARLY_DEATH` seconds
  of starting, :data:`MAX_EARLY_DEATHS` times in a row, stops everything (exit 1): a
  config or app that cannot start would only be restarted in a loop.

What each process keeps to itself: the in-memory rate-limit buckets, MCP sessions, the
``memory`` conversation store and routing caches. Share what must be shared: rate limits
in Redis (``PLANO_RATELIMIT_REDIS_URL``), conversation state in Postgres or Redis
(``state_storage: {type: postgres}`` or ``{type: redis}``). :func:`shared_state_warnings`
names what a config would keep per process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from pathlib import Path
from types import FrameType

from plano_asgi.config import PlanoConfig

__all__ = [
    "EARLY_DEATH",
    "MAX_EARLY_DEATHS",
    "SHUTDOWN_GRACE",
    "WorkerOptions",
    "bind_listener_socket",
    "run_workers",
    "shared_state_warnings",
]

logger = logging.getLogger("plano_asgi.workers")

SHUTDOWN_GRACE = 10.0
EARLY_DEATH = 5.0
MAX_EARLY_DEATHS = 3
_POLL = 0.2
_BACKLOG = 2048


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """What every worker needs to serve the config the way the parent was asked to."""

    config_path: Path
    host: str | None
    port_offset: int
    implicit_model_listener: bool
    allow_missing_env: bool
    log_level: str
    otlp_endpoint: str | None


def bind_listener_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` that every worker can accept on.

    Raises ``OSError`` when the address is taken or not this machine's.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(_BACKLOG)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def shared_state_warnings(config: PlanoConfig, *, redis_url: str | None) -> list[str]:
    """What ``config`` keeps in each process's memory that several workers would not share."""
    notes: list[str] = []
    if config.ratelimits and not redis_url:
        notes.append(
            "ratelimits are counted per worker (set PLANO_RATELIMIT_REDIS_URL to share them)"
        )
    storage = config.state_storage
    if storage is not None and getattr(storage, "type", None) == "memory":
        notes.append(
            "state_storage type memory is per worker: a previous_response_id stored by one "
            "worker is unknown to the others (use type: redis or postgres)"
        )
    return notes


def run_workers(options: WorkerOptions, sockets: Sequence[socket.socket], workers: int) -> int:
    """Start ``workers`` processes on ``sockets`` (one per listener, in the order
    :func:`~plano_asgi.serving.plan_servers` gives) and supervise them until a signal.

    Returns the exit code: 0 after a signal, 1 when workers keep dying at start.
    """
    context = multiprocessing.get_context("spawn")
    multiprocessing.allow_connection_pickling()
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes: list[tuple[SpawnProcess, float]] = []
    early_deaths = 0
    code = 0
    try:
        for _ in range(workers):
            processes.append(_start(context, options, sockets))
        while not stopping:
            time.sleep(_POLL)
            for index, (process, started) in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                lived = time.monotonic() - started
                early_deaths = early_deaths + 1 if lived < EARLY_DEATH else 0
                logger.warning(
                    "worker %s exited with %s after %.1f s", process.pid, process.exitcode, lived
                )
                if early_deaths >= MAX_EARLY_DEATHS:
                    logger.error("workers keep dying at start; stopping")
                    stopping, code = True, 1
                    break
                processes[index] = _start(context, options, sockets)
    finally:
        _stop_all([process for process, _ in processes])
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _start(
    context: multiprocessing.context.SpawnContext,
    options: WorkerOptions,
    sockets: Sequence[socket.socket],
) -> tuple[SpawnProcess, float]:
    process = context.Process(target=_worker, args=(options, list(sockets)), daemon=False)
    process.start()
    return process, time.monotonic()


def _stop_all(processes: Sequence[SpawnProcess]) -> None:
    for process in processes:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + SHUTDOWN_GRACE
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            logger.warning(
                "worker %s did not stop in %.0f s; killing it", process.pid, SHUTDOWN_GRACE
            )
            process.kill()
            process.join()


def _worker(options: WorkerOptions, sockets: list[socket.socket]) -> None:
    """One worker process: load the config, serve every listener on the parent's sockets."""
    import sys

    from plano_asgi.cli.serve import point_agents_at_gateway
    from plano_asgi.config import load_config
    from plano_asgi.errors import ConfigError
    from plano_asgi.serving import observability, plan_servers, run_served, serve_config

    try:
        config = load_config(options.config_path, allow_missing_env=options.allow_missing_env)
        servers = plan_servers(
            config,
            host=options.host,
            port_offset=options.port_offset,
            implicit_model_listener=options.implicit_model_listener,
        )
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        sys.exit(2)
    if len(servers) != len(sockets):
        print("the config changed under the workers: listeners differ", file=sys.stderr)
        sys.exit(2)
    point_agents_at_gateway(servers)
    with observability(config, endpoint=options.otlp_endpoint, log_level=options.log_level):
        code = run_served(serve_config(servers, log_level=options.log_level, sockets=sockets))
    sys.exit(code)
