"""Loading ``plano_config.yaml``: YAML with line numbers, ``$VAR`` substitution, one error report.

The pipeline, each step collecting :class:`~plano_asgi.errors.ConfigIssue`s rather than
stopping at the first:

1. parse YAML, remembering the line of every key (for error messages);
2. substitute ``$VAR`` / ``${VAR}`` in every string (missing variables are issues that
   name the variable and the key path using it);
3. reject out-of-scope features (prompt listeners, ``prompt_targets``) with a clear message,
   and normalise legacy forms (``llm_providers``);
4. validate the models (pydantic), turning its errors into key paths;
5. cross-check references (:mod:`plano_asgi.config.checks`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from plano_asgi.config.root import PlanoConfig
from plano_asgi.errors import ConfigError, ConfigIssue

__all__ = ["format_path", "load_config", "load_config_data", "substitute_env"]

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")

PathKey = tuple[str | int, ...]


def format_path(path: Iterable[str | int]) -> str:
    """``("listeners", 0, "agents", 1, "id")`` -> ``listeners[0].agents[1].id``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def load_config(
    path: str | Path, *, env: Mapping[str, str] | None = None, allow_missing_env: bool = False
) -> PlanoConfig:
    """Load, validate and cross-check a config file; raise ``ConfigError`` with every problem."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [ConfigIssue("", f"cannot read the file: {exc.strerror or exc}")], source=str(source)
        ) from None
    lines: dict[PathKey, int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _collect_lines(node, (), lines)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            [ConfigIssue("", f"not valid YAML: {problem}", line)], source=str(source)
        ) from None
    config = _load(data, env=env, allow_missing_env=allow_missing_env, lines=lines, source=source)
    config._source = source.resolve()
    return config


def load_config_data(
    data: Any, *, env: Mapping[str, str] | None = None, allow_missing_env: bool = False
) -> PlanoConfig:
    """Validate a config already parsed into Python data."""
    return _load(data, env=env, allow_missing_env=allow_missing_env, lines={}, source=None)


def _load(
    data: Any,
    *,
    env: Mapping[str, str] | None,
    allow_missing_env: bool,
    lines: dict[PathKey, int],
    source: Path | None,
) -> PlanoConfig:
    from plano_asgi.config.checks import cross_check, prepare

    src = str(source) if source is not None else None
    issues: list[_RawIssue] = []
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigIssue("", "the config must be a YAML mapping (key: value)")], source=src
        )
    environ = os.environ if env is None else env
    data = substitute_env(data, environ, (), issues, allow_missing=allow_missing_env)
    data = prepare(data, issues)
    config: PlanoConfig | None = None
    if not issues or all(issue.soft for issue in issues):
        try:
            config = PlanoConfig.model_validate(data)
        except ValidationError as exc:
            issues.extend(_from_validation(exc, data))
    if config is not None:
        cross_check(config, issues)
    if issues:
        raise ConfigError([issue.locate(lines) for issue in issues], source=src)
    assert config is not None
    return config


class _RawIssue:
    """An issue before its line number is looked up. ``soft`` issues don't stop validation."""

    __slots__ = ("message", "path", "soft")

    def __init__(self, path: PathKey, message: str, *, soft: bool = False) -> None:
        self.path = path
        self.message = message
        self.soft = soft

    def locate(self, lines: Mapping[PathKey, int]) -> ConfigIssue:
        path = self.path
        while path and path not in lines:
            path = path[:-1]
        return ConfigIssue(format_path(self.path), self.message, lines.get(path))


def substitute_env(
    value: Any,
    env: Mapping[str, str],
    path: PathKey,
    issues: list[_RawIssue],
    *,
    allow_missing: bool = False,
) -> Any:
    """Replace ``$VAR``/``${VAR}`` in every string of ``value``; missing ones become issues."""
    if isinstance(value, str):
        if "$" not in value:
            return value

        def replace(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            if name in env:
                return env[name]
            if not allow_missing:
                issues.append(
                    _RawIssue(
                        path,
                        f"environment variable '{name}' is not set "
                        f"(set it, or validate with --allow-missing-env)",
                        soft=True,
                    )
                )
            return match.group(0)

        return _VAR.sub(replace, value)
    if isinstance(value, dict):
        return {
            key: substitute_env(item, env, (*path, str(key)), issues, allow_missing=allow_missing)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            substitute_env(item, env, (*path, index), issues, allow_missing=allow_missing)
            for index, item in enumerate(value)
        ]
    return value


def _collect_lines(node: yaml.Node, path: PathKey, out: dict[PathKey, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            out[(*path, key)] = key_node.start_mark.line + 1
            _collect_lines(value_node, (*path, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out[(*path, index)] = item.start_mark.line + 1
            _collect_lines(item, (*path, index), out)


def _from_validation(exc: ValidationError, data: Any) -> list[_RawIssue]:
    out: list[_RawIssue] = []
    for error in exc.errors():
        loc = _clean_loc(error["loc"], data)
        out.append(_RawIssue(loc, _describe(error)))
    return out


def _clean_loc(loc: tuple[int | str, ...], data: Any) -> PathKey:
    """Drop pydantic's union-member tags (``agent``, ``function-after[...]``) from a location."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            out.append(part)
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and "[" not in part:
            # A key the input lacks (missing field) or a discriminator tag.
            if error_key_is_tag(node, part):
                continue
            out.append(part)
            node = None
        elif node is None:
            out.append(part)
    return tuple(out)


def error_key_is_tag(node: dict[str, Any], part: str) -> bool:
    return node.get("type") == part


def _describe(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind == "union_tag_invalid":
        return f"unknown type {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "required key 'type' is missing (expected 'agent' or 'model')"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")
