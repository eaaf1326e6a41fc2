"""Import the in-process agents of a config (``agents[].app: "module:attribute"``).

A module path is looked up the way uvicorn's ``--app-dir`` does it: the config file's
folder first, then ``sys.path`` as it is (``PYTHONPATH``, the installed packages). So an
``app: weather:agent`` next to ``plano_config.yaml`` imports wherever you start from. The
folder stays on ``sys.path`` once added, because an agent module may import its siblings
later, at request time.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from plano_asgi.config.root import PlanoConfig
from plano_asgi.errors import ConfigIssue

__all__ = ["import_agent_apps", "import_app"]


def import_app(spec: str, *, base_dir: Path | None = None) -> ASGIApp:
    """The callable named by ``spec`` (``"package.module:attribute.path"``).

    ``base_dir`` (the config's folder) is put in front of ``sys.path`` first. Raises what
    the import raises, or :class:`AttributeError` when the attribute is missing or is not
    callable.
    """
    if base_dir is not None:
        folder = str(base_dir.resolve())
        if folder not in sys.path:
            sys.path.insert(0, folder)
    module_name, _, attribute = spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise AttributeError(f"'{spec}' is not an ASGI app")
    app: ASGIApp = target
    return app


def import_agent_apps(
    config: PlanoConfig, ids: list[str] | None = None
) -> tuple[dict[str, ASGIApp], list[ConfigIssue]]:
    """Import the ``app`` of every agent in ``ids`` (default: every agent) that has one.

    Returns the apps by agent id and one issue per agent whose import failed, at
    ``agents.<id>.app``, naming the import path and the error (a failing import can raise
    anything, so anything is reported).
    """
    base_dir = config.source.parent if config.source is not None else None
    apps: dict[str, ASGIApp] = {}
    issues: list[ConfigIssue] = []
    for agent in config.agents:
        if agent.app is None or (ids is not None and agent.id not in ids):
            continue
        try:
            apps[agent.id] = import_app(agent.app, base_dir=base_dir)
        except Exception as exc:
            issues.append(
                ConfigIssue(
                    f"agents.{agent.id}.app",
                    f"cannot import '{agent.app}': {type(exc).__name__}: {exc}",
                )
            )
    return apps, issues
