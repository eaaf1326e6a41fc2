"""``plano-asgi serve CONFIG``: every listener of the file on its own port, in one process."""

from __future__ import annotations

import argparse
import asyncio
import sys

from plano_asgi.cli.validate import add_config_argument, config_path, load_settings
from plano_asgi.config import load_config
from plano_asgi.errors import ConfigError

__all__ = ["register", "run"]


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` arguments to ``parser``."""
    add_config_argument(parser)
    parser.add_argument(
        "--host",
        default=None,
        help="bind every listener to this address (default: $PLANO_HOST, else its address)",
    )
    parser.add_argument(
        "--port-offset",
        type=int,
        default=0,
        metavar="N",
        help="add N to every listener port (to run a second copy next to the first)",
    )
    parser.add_argument(
        "--no-implicit-model-listener",
        action="store_true",
        help="do not add the model listener Plano adds (egress_traffic on 12000) when the "
        "config has providers but declares no model listener",
    )
    parser.add_argument(
        "--allow-missing-env",
        action="store_true",
        help="serve even if $VARIABLES are not set (they stay as written)",
    )
    parser.add_argument(
        "--log-level",
        default=None,
        choices=["debug", "info", "warning", "error"],
        help="uvicorn's log level (default: $PLANO_LOG_LEVEL, else info)",
    )


def run(args: argparse.Namespace) -> int:
    """Load the config, then serve until Ctrl-C/SIGTERM. Exit 2 on a bad config."""
    from plano_asgi.serving import plan_servers, serve_config

    settings = load_settings()
    if settings is None:
        return 2
    path = config_path(args, settings)
    if path is None:
        return 2
    try:
        config = load_config(path, allow_missing_env=args.allow_missing_env)
        host = args.host or settings.host
        servers = plan_servers(
            config,
            host=host,
            port_offset=args.port_offset,
            implicit_model_listener=not args.no_implicit_model_listener,
        )
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not servers:
        print(f"{path}: no listeners to serve", file=sys.stderr)
        return 2
    for server in servers:
        note = " (not declared; added as Plano does)" if server.implicit else ""
        print(f"{server.kind} listener '{server.name}' on http://{server.host}:{server.port}{note}")
    sys.stdout.flush()
    try:
        return asyncio.run(serve_config(servers, log_level=args.log_level or settings.log_level))
    except KeyboardInterrupt:  # only if Ctrl-C lands before the handlers are installed
        return 130
