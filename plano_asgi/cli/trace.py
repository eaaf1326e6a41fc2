"""``plano-asgi trace``: a local OTLP/HTTP receiver that prints each trace as a tree.

Run it, then start plano-asgi (or anything OpenTelemetry-instrumented) with
``OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys

from plano_asgi.errors import MissingExtraError

__all__ = ["register", "run"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4318, help="port (default 4318, OTLP/HTTP)")
    parser.add_argument(
        "--quiet",
        type=float,
        default=1.0,
        help="seconds without new spans before a trace with a root span is printed",
    )
    parser.add_argument(
        "--orphan-timeout",
        type=float,
        default=8.0,
        help="seconds without new spans before a trace without a root span is printed",
    )
    parser.add_argument("--ascii", action="store_true", help="draw the tree with ASCII only")


def run(args: argparse.Namespace) -> int:
    _require_extras()
    # Bind first, so a busy port fails with a message before any banner is printed.
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
        sock.listen(2048)  # connections queue from now on, before uvicorn starts accepting
    except OSError as exc:
        sock.close()
        print(f"plano-asgi trace: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(args, sock))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


def _require_extras() -> None:
    """The receiver runs on uvicorn (``server``) and decodes OTLP protobuf (``otel``)."""
    try:
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("server", "plano-asgi trace", exc) from exc
    try:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("otel", "plano-asgi trace", exc) from exc


async def _serve(args: argparse.Namespace, sock: socket.socket) -> None:
    import uvicorn

    from plano_asgi.telemetry.receiver import TraceReceiver

    receiver = TraceReceiver(
        sys.stdout, quiet=args.quiet, orphan_timeout=args.orphan_timeout, ascii=args.ascii
    )
    family = sock.family
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    url = f"http://{host}:{port}"
    print(
        f"plano-asgi trace: receiving OTLP/HTTP on {url}/v1/traces\n"
        f"  export OTEL_EXPORTER_OTLP_ENDPOINT={url}",
        flush=True,
    )
    config = uvicorn.Config(receiver, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    async with asyncio.TaskGroup() as group:
        watcher = group.create_task(receiver.watch())
        try:
            await server.serve(sockets=[sock])
        finally:
            watcher.cancel()
