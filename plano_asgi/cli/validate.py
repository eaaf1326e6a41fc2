"""``plano-asgi validate CONFIG``: exit 0 with a summary, or 2 with every problem.

Validation also imports every ``agents[].app`` the way ``serve`` does (next to the config
file, then ``PYTHONPATH``), so an agent that cannot be imported is reported with its id and
the error instead of failing later at ``serve``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from plano_asgi.config import AgentListener, PlanoConfig, PlanoSettings, load_config
from plano_asgi.config.apps import import_agent_apps
from plano_asgi.config.settings import CONFIG_NAMES, find_config
from plano_asgi.errors import ConfigError

__all__ = ["add_config_argument", "config_path", "load_settings", "register", "run", "summarise"]


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``validate`` arguments to ``parser``."""
    add_config_argument(parser)
    parser.add_argument(
        "--allow-missing-env",
        action="store_true",
        help="do not fail on $VARIABLES that are not set (they stay as written)",
    )


def run(args: argparse.Namespace) -> int:
    """Validate the file; print the summary (exit 0) or the full report (exit 2)."""
    settings = load_settings()
    path = config_path(args, settings) if settings is not None else None
    if path is None:
        return 2
    try:
        config = load_config(path, allow_missing_env=args.allow_missing_env)
        # In-process agents are part of the config: a failing import fails validation.
        _, issues = import_agent_apps(config)
        if issues:
            raise ConfigError(issues, source=str(path))
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    print(summarise(config))
    return 0


def summarise(config: PlanoConfig) -> str:
    """A short human summary: listeners, agents, filters, providers, routing, warnings."""
    lines = [f"{config.source or 'config'}: valid (version {config.version})"]
    for listener in config.listeners:
        port = listener.port if listener.port is not None else "-"
        filters = ""
        if listener.input_filters or listener.output_filters:
            filters = (
                f" filters in: {', '.join(listener.input_filters) or '-'}"
                f" out: {', '.join(listener.output_filters) or '-'}"
            )
        if isinstance(listener, AgentListener):
            router = listener.router or "default"
            agents = ", ".join(a.id + (" (default)" if a.default else "") for a in listener.agents)
            head = f"  agent listener {listener.name} :{port} router={router}"
            lines.append(f"{head} agents: {agents}{filters}")
        else:
            lines.append(f"  model listener {listener.name} :{port}{filters}")
    implicit = config.implicit_model_listener
    if implicit is not None:
        lines.append(
            f"  model listener {implicit.name} :{implicit.port} (not declared; "
            "'serve' adds it as Plano does)"
        )
    if config.agents:
        lines.append(f"  agents: {', '.join(a.id for a in config.agents)}")
    if config.filters:
        lines.append(f"  filters: {', '.join(f'{f.id} ({f.type})' for f in config.filters)}")
    if config.model_providers:
        names = [
            p.display_name + (" (default)" if p.default else "") for p in config.model_providers
        ]
        lines.append(f"  model providers: {', '.join(names)}")
    if config.model_aliases:
        lines.append(f"  model aliases: {', '.join(config.model_aliases)}")
    if config.routing_preferences:
        prefs = ", ".join(p.name for p in config.routing_preferences)
        lines.append(f"  routing preferences: {prefs}")
    for warning in config.warnings:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """The optional CONFIG argument (shared with ``serve``), with Plano's discovery order."""
    parser.add_argument(
        "config",
        nargs="?",
        default=None,
        help="path of plano_config.yaml (default: $PLANO_CONFIG, else "
        f"{' or '.join('./' + name for name in CONFIG_NAMES)})",
    )


def load_settings() -> PlanoSettings | None:
    """``PLANO_*`` settings, or None after printing which variable is wrong."""
    try:
        return PlanoSettings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "PLANO_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"environment variable {name}: {error['msg']}", file=sys.stderr)
        return None


def config_path(args: argparse.Namespace, settings: PlanoSettings) -> Path | None:
    """The config file to load, or None after telling the user how to name one."""
    path = find_config(args.config, settings)
    if path is None:
        print(
            "no config file: name one, set PLANO_CONFIG, or run where "
            f"{' or '.join(CONFIG_NAMES)} exists",
            file=sys.stderr,
        )
    return path
