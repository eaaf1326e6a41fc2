"""Loading ``plano_config.yaml``: YAML with line numbers, ``$VAR`` substitution, one report.

The pipeline collects problems instead of stopping at the first, so one run shows them all:

1. parse the YAML, remembering the line of every key (and flagging duplicate keys);
2. substitute ``$VAR`` / ``${VAR}`` / ``${VAR:-default}`` in every string
   (:mod:`~plano_asgi.config.substitution`);
3. normalise legacy forms and reject out-of-scope features
   (:mod:`~plano_asgi.config.normalise`);
4. validate the models (pydantic), with errors turned into key paths
   (:mod:`~plano_asgi.config.validation`);
5. cross-check references and rules across blocks (:mod:`~plano_asgi.config.checks`);
6. resolve what depends on several keys (inline routing preferences lifted to the
   top-level list, dependent defaults filled in).

Any problem raises one :class:`~plano_asgi.errors.ConfigError` listing every issue with its
key path, line and what would be valid. Nothing here raises anything else for bad input.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from plano_asgi.config.issues import IssueCollector, KeyPath, format_path
from plano_asgi.config.root import PlanoConfig
from plano_asgi.config.substitution import substitute_env
from plano_asgi.errors import ConfigError, ConfigIssue

__all__ = ["format_path", "load_config", "load_config_data", "substitute_env"]

_EMPTY = "the config is empty; it needs at least 'version' and 'listeners'"


def load_config(
    path: str | Path, *, env: Mapping[str, str] | None = None, allow_missing_env: bool = False
) -> PlanoConfig:
    """Load, validate and cross-check a config file.

    ``env`` replaces ``os.environ`` for ``$VAR`` substitution. With ``allow_missing_env``,
    unset variables keep their ``$VAR`` text instead of failing (to check a file on a
    machine without the keys). Raises :class:`ConfigError` listing every problem.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            [ConfigIssue("", f"cannot read the file: {reason}")], source=str(source)
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            [ConfigIssue("", "cannot read the file: it is not UTF-8 text")], source=str(source)
        ) from None
    lines: dict[KeyPath, int] = {}
    duplicates: list[tuple[KeyPath, int]] = []
    try:
        data = _parse(text, lines, duplicates)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        message = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
        raise ConfigError([ConfigIssue("", message, line)], source=str(source)) from None
    issues = IssueCollector(lines)
    for key_path, line in duplicates:
        issues.error(key_path, f"duplicate key (also on line {line}); YAML keeps only the last one")
    config = _load(data, env=env, allow_missing_env=allow_missing_env, issues=issues, source=source)
    config._source = source.resolve()
    return config


def load_config_data(
    data: Any, *, env: Mapping[str, str] | None = None, allow_missing_env: bool = False
) -> PlanoConfig:
    """Validate a config already parsed into Python data (dicts and lists, as from YAML)."""
    return _load(
        data, env=env, allow_missing_env=allow_missing_env, issues=IssueCollector(), source=None
    )


def _load(
    data: Any,
    *,
    env: Mapping[str, str] | None,
    allow_missing_env: bool,
    issues: IssueCollector,
    source: Path | None,
) -> PlanoConfig:
    from plano_asgi.config.checks import cross_check
    from plano_asgi.config.normalise import finish, prepare
    from plano_asgi.config.validation import validate_data

    src = str(source) if source is not None else None
    if data is None:
        raise ConfigError([ConfigIssue("", _EMPTY)], source=src)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        raise ConfigError(
            [
                ConfigIssue(
                    "",
                    f"the config must be a mapping of keys (version, listeners, ...), not {kind}",
                    1 if source else None,
                )
            ],
            source=src,
        )
    cycle = _find_cycle(data, ())
    if cycle is not None:
        issues.error(cycle, "this value contains itself (a YAML alias loop)")
        raise ConfigError(issues.errors(), source=src)
    environ = os.environ if env is None else env
    data = substitute_env(data, environ, issues, allow_missing=allow_missing_env)
    data = prepare(data, issues)
    config = validate_data(data, issues)
    if config is not None:
        cross_check(config, issues)
        config = finish(config, issues)
    if issues.has_errors or config is None:
        raise ConfigError(issues.errors(), source=src)
    config._warnings = issues.warnings()
    return config


def _find_cycle(node: Any, path: KeyPath, parents: frozenset[int] = frozenset()) -> KeyPath | None:
    """The key path of a value that contains itself (possible with YAML aliases), if any."""
    if not isinstance(node, dict | list):
        return None
    if id(node) in parents:
        return path
    parents = parents | {id(node)}
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        found = _find_cycle(value, (*path, key), parents)
        if found is not None:
            return found
    return None


def _parse(text: str, lines: dict[KeyPath, int], duplicates: list[tuple[KeyPath, int]]) -> Any:
    """Parse one YAML document, recording the line of every key and item."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _collect_lines(node, (), lines, duplicates)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _collect_lines(
    node: yaml.Node,
    path: KeyPath,
    out: dict[KeyPath, int],
    duplicates: list[tuple[KeyPath, int]],
    parents: frozenset[int] = frozenset(),
) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if id(node) in parents:
        return  # an alias loop; reported once the data is built
    parents = parents | {id(node)}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = _node_key(key_node)
            line = key_node.start_mark.line + 1
            if (*path, key) in out:
                duplicates.append(((*path, key), out[(*path, key)]))
            out[(*path, key)] = line
            _collect_lines(value_node, (*path, key), out, duplicates, parents)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out[(*path, index)] = item.start_mark.line + 1
            _collect_lines(item, (*path, index), out, duplicates, parents)


def _node_key(node: yaml.Node) -> str | int:
    value = node.value
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:int":
        try:
            return int(value)
        except ValueError:
            return str(value)
    return str(value)
