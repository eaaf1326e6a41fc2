"""``plano-asgi validate CONFIG``: exit 0 with a summary, or 2 with every problem."""

from __future__ import annotations

import argparse
import sys

from plano_asgi.config import PlanoConfig, load_config
from plano_asgi.errors import ConfigError

__all__ = ["register", "run", "summarise"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="path of plano_config.yaml")
    parser.add_argument(
        "--allow-missing-env",
        action="store_true",
        help="do not fail on $VARIABLES that are not set (validation only)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, allow_missing_env=args.allow_missing_env)
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    print(summarise(config))
    return 0


def summarise(config: PlanoConfig) -> str:
    """A short human summary: listeners, agents, filters and providers."""
    lines = [f"{config.source or 'config'}: valid (version {config.version})"]
    for listener in config.listeners:
        port = listener.port if listener.port is not None else "-"
        if listener.type == "agent":
            router = listener.router or "default"
            agents = ", ".join(a.id for a in listener.agents)
            lines.append(
                f"  agent listener {listener.name} :{port} router={router} agents: {agents}"
            )
        else:
            lines.append(f"  model listener {listener.name} :{port}")
    if config.agents:
        lines.append(f"  agents: {', '.join(a.id for a in config.agents)}")
    if config.filters:
        lines.append(f"  filters: {', '.join(f'{f.id} ({f.type})' for f in config.filters)}")
    if config.model_providers:
        names = []
        for provider in config.model_providers:
            names.append(provider.display_name + (" (default)" if provider.default else ""))
        lines.append(f"  model providers: {', '.join(names)}")
    if config.model_aliases:
        lines.append(f"  model aliases: {', '.join(config.model_aliases)}")
    return "\n".join(lines)
