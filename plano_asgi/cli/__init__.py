"""The ``plano-asgi`` command line.

Each sub-command lives in its own module with ``register(subparsers)`` and
``run(args) -> int``; modules are imported only when their command runs, so ``--help``
and ``validate`` stay fast and need no optional extras.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "build_parser", "main"]

#: command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("plano_asgi.cli.validate", "check a plano_config.yaml and summarise it"),
    "serve": ("plano_asgi.cli.serve", "serve every listener of a config with uvicorn"),
    "eval-routes": ("plano_asgi.cli.eval_routes", "measure a router on a routing data set"),
    "chat": ("plano_asgi.cli.chat", "chat with an agent listener in the terminal"),
    "trace": ("plano_asgi.cli.trace", "receive OTLP/HTTP spans and print each trace as a tree"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plano-asgi",
        description="Plano's agent routing, filter chains and model gateway, as Python.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(_module=module_name)
        _register(module_name, command)
    return parser


def _register(module_name: str, parser: argparse.ArgumentParser) -> None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        parser.set_defaults(_missing=True)
        return
    module.register(parser)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("plano-asgi")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``plano-asgi`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "_missing", False):
        print(f"plano-asgi {args.command}: not available in this version", file=sys.stderr)
        return 2
    from plano_asgi.errors import MissingExtraError

    try:
        module = importlib.import_module(args._module)
        result: int = module.run(args)
    except MissingExtraError as exc:  # an optional part is not installed: say which extra
        print(f"plano-asgi {args.command}: {exc.message}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())
