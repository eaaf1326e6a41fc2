"""``plano-asgi serve CONFIG``: every listener of the file on its own port, in one process
(or ``--workers N`` processes sharing the ports, :mod:`plano_asgi.workers`)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from plano_asgi.cli.validate import add_config_argument, config_path, load_settings
from plano_asgi.config import PlanoConfig, PlanoSettings, load_config
from plano_asgi.errors import ConfigError

if TYPE_CHECKING:
    from plano_asgi.serving import ListenerServer

__all__ = ["point_agents_at_gateway", "register", "run"]


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` arguments to ``parser``."""
    add_config_argument(parser)
    parser.add_argument(
        "--host",
        default=None,
        help="bind every listener to this address (default: $PLANO_HOST, else its address)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve with N processes on the same ports (default 1; see the README)",
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
    chat = parser.add_argument_group(
        "chat",
        "--chat serves the listeners in the background and chats with the first agent "
        "listener in the foreground (messages from the terminal, or one per line from a "
        "pipe). Ctrl-D, Ctrl-C or 'exit' stops the chat and every listener.",
    )
    chat.add_argument(
        "--chat", action="store_true", help="chat with the first agent listener in the terminal"
    )
    chat.add_argument(
        "--chat-intro",
        default=None,
        metavar="TEXT",
        help="text to print once the listeners are ready (e.g. what to ask)",
    )
    chat.add_argument(
        "--log-file",
        default=None,
        metavar="PATH",
        help="where server logs go during the chat (default: .plano/serve.log)",
    )


def run(args: argparse.Namespace) -> int:
    """Load the config, then serve until Ctrl-C/SIGTERM. Exit 2 on a bad config."""
    from plano_asgi.serving import observability, plan_servers, run_served, serve_config

    settings = load_settings()
    if settings is None:
        return 2
    path = config_path(args, settings)
    if path is None:
        return 2
    started = time.monotonic()
    if args.chat:  # loading takes a few seconds: say something at once
        print(f"plano-asgi: loading {path}...", file=sys.stderr, flush=True)
    try:
        config = load_config(path, allow_missing_env=args.allow_missing_env)
        # A chat is local: unless told otherwise, do not expose the listeners to the network.
        host = args.host or settings.host or ("127.0.0.1" if args.chat else None)
        servers = plan_servers(
            config,
            host=host,
            port_offset=args.port_offset,
            implicit_model_listener=not args.no_implicit_model_listener,
        )
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while the apps (and their imports) load
        return 130
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not servers:
        print(f"{path}: no listeners to serve", file=sys.stderr)
        return 2
    if args.workers < 1 or (args.workers > 1 and args.chat):
        why = "--workers must be at least 1" if args.workers < 1 else "--chat needs one worker"
        print(f"plano-asgi serve: {why}", file=sys.stderr)
        return 2
    point_agents_at_gateway(servers)
    if args.workers > 1:
        return _serve_workers(args, settings, path, config, servers)
    if args.chat:
        from plano_asgi.cli.serve_chat import DEFAULT_LOG_FILE, logs_to, serve_and_chat

        level = args.log_level or settings.log_level
        log_file = Path(args.log_file) if args.log_file else DEFAULT_LOG_FILE
        # Every log line goes to the file, exporter shutdown included: the chat owns the terminal.
        with (
            logs_to(log_file, level),
            observability(
                config, endpoint=settings.otlp_endpoint, log_level=level, configure_logs=False
            ),
        ):
            return serve_and_chat(
                config,
                servers,
                log_level=level,
                log_file=log_file,
                intro=args.chat_intro,
                started=started,
            )
    _announce(servers)
    sys.stdout.flush()
    level = args.log_level or settings.log_level
    # Tracing SDK + exporter from the config, a handler for the access lines; flushed on exit.
    with observability(config, endpoint=settings.otlp_endpoint, log_level=level):
        try:
            return run_served(serve_config(servers, log_level=level))
        except KeyboardInterrupt:  # only if Ctrl-C lands before the handlers are installed
            return 130


def point_agents_at_gateway(servers: list[ListenerServer]) -> None:
    """Point in-process agents at the model listener served here, wherever it moved.

    Agents find the gateway through ``LLM_GATEWAY_ENDPOINT`` (read when an agent first
    calls a model, see :func:`plano_agent_sdk.gateway_client`). When neither it nor
    ``PLANO_GATEWAY_URL`` is set, set it to the model listener of ``servers``, so
    ``--port-offset`` and ``--host`` move the agents' gateway with the listener.
    """
    from plano_asgi.cli.background import client_url

    if os.environ.get("LLM_GATEWAY_ENDPOINT") or os.environ.get("PLANO_GATEWAY_URL"):
        return
    model = next((s for s in servers if s.kind == "model"), None)
    if model is not None:
        os.environ["LLM_GATEWAY_ENDPOINT"] = f"{client_url(model)}/v1"


def _serve_workers(
    args: argparse.Namespace,
    settings: PlanoSettings,
    path: Path,
    config: PlanoConfig,
    servers: list[ListenerServer],
) -> int:
    from plano_asgi.workers import (
        WorkerOptions,
        bind_listener_socket,
        run_workers,
        shared_state_warnings,
    )

    sockets = []
    try:
        for server in servers:
            sockets.append(bind_listener_socket(server.host, server.port))
    except OSError as exc:
        for sock in sockets:
            sock.close()
        print(
            f"plano-asgi serve: cannot listen on {server.host}:{server.port}: {exc}",
            file=sys.stderr,
        )
        return 1
    for note in shared_state_warnings(config, redis_url=settings.ratelimit_redis_url):
        print(f"warning: {note}", file=sys.stderr)
    _announce(servers)
    print(f"{args.workers} workers", flush=True)
    options = WorkerOptions(
        config_path=path,
        host=args.host or settings.host,
        port_offset=args.port_offset,
        implicit_model_listener=not args.no_implicit_model_listener,
        allow_missing_env=args.allow_missing_env,
        log_level=args.log_level or settings.log_level,
        otlp_endpoint=settings.otlp_endpoint,
    )
    try:
        return run_workers(options, sockets, args.workers)
    finally:
        for sock in sockets:
            sock.close()


def _announce(servers: list[ListenerServer]) -> None:
    """One line per listener: what it is and where it serves."""
    for server in servers:
        note = " (not declared; added as Plano does)" if server.implicit else ""
        print(f"{server.kind} listener '{server.name}' on http://{server.host}:{server.port}{note}")
