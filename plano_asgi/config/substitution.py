"""``$VAR`` substitution in every string of a config, as Plano does to the whole file.

Plano expands ``$VAR`` and ``${VAR}`` anywhere in the rendered file. We do the same on the
parsed data (so comments and keys are left alone), and add shell-style defaults, *ours*:
``${VAR:-default}`` (default when unset or empty) and ``${VAR-default}`` (when unset), which
let an example run without a key. A variable that is not set and has no default is an error
naming the variable and the key that uses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plano_asgi.config.issues import IssueCollector, KeyPath

__all__ = ["substitute_env"]

_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def substitute_env(
    value: Any,
    env: Mapping[str, str],
    issues: IssueCollector,
    *,
    allow_missing: bool = False,
    path: KeyPath = (),
) -> Any:
    """Return ``value`` with ``$VAR``, ``${VAR}`` and ``${VAR:-default}`` replaced everywhere.

    A missing variable without a default is reported to ``issues`` (at the key path that
    uses it) unless ``allow_missing``; either way its text is kept as written, and no
    other problem is reported for that value (its real shape is unknown).
    """
    if isinstance(value, str):
        if "$" not in value:
            return value
        return _VAR.sub(lambda match: _replace(match, env, issues, allow_missing, path), value)
    if isinstance(value, dict):
        return {
            key: substitute_env(
                item, env, issues, allow_missing=allow_missing, path=(*path, _key(key))
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            substitute_env(item, env, issues, allow_missing=allow_missing, path=(*path, index))
            for index, item in enumerate(value)
        ]
    return value


def _key(key: Any) -> str | int:
    return key if isinstance(key, str | int) and not isinstance(key, bool) else str(key)


def _replace(
    match: re.Match[str],
    env: Mapping[str, str],
    issues: IssueCollector,
    allow_missing: bool,
    path: KeyPath,
) -> str:
    name = match.group("braced") or match.group("bare")
    op = match.group("op")
    current = env.get(name)
    if op == ":-" and not current:
        return match.group("default")
    if op == "-" and current is None:
        return match.group("default")
    if current is not None:
        return current
    if not allow_missing:
        issues.error(
            path,
            f"environment variable '{name}' is not set; set it, give a default "
            f"('${{{name}:-value}}'), or validate with --allow-missing-env",
        )
    # Either way the value is unknown, so checks of its shape (a URL, a port) say nothing.
    issues.quiet(path)
    return match.group(0)
