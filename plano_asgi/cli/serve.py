"""``plano-asgi serve CONFIG``: every listener of the file on its own port, in one process."""

from __future__ import annotations

import argparse
import asyncio
import sys

from plano_asgi.config import load_config
from plano_asgi.errors import ConfigError

__all__ = ["register", "run"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="path of plano_config.yaml")
    parser.add_argument("--host", default=None, help="bind address for every listener")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )


def run(args: argparse.Namespace) -> int:
    from plano_asgi.serving import plan_servers, serve_config

    try:
        config = load_config(args.config)
        servers = plan_servers(config, host=args.host)
    except (ConfigError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for server in servers:
        print(f"{server.kind} listener {server.name} on http://{server.host}:{server.port}")
    try:
        asyncio.run(serve_config(servers, log_level=args.log_level))
    except KeyboardInterrupt:
        pass
    return 0
