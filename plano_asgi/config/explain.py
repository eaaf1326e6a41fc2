"""Turning pydantic's validation errors into key paths and plain messages.

pydantic reports locations with internal markers (union tags such as ``agent``, member
names such as ``tuple[str, ...]``, ``[key]``) and messages written for developers. A config
author wants the key path as written in the YAML and what would be valid there.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from plano_asgi.config.issues import IssueCollector, KeyPath, did_you_mean

__all__ = ["allowed_keys", "error_paths", "report_validation_error"]

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
}


def report_validation_error(
    exc: ValidationError, root: type[BaseModel], data: Any, issues: IssueCollector
) -> None:
    """Add one issue per pydantic error to ``issues``, at the key path the user wrote."""
    for error in exc.errors():
        raw = tuple(error["loc"])
        path = _clean(raw, data)
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            path = (*path, "type")
        issues.error(path, _describe(error, root, raw))


def error_paths(exc: ValidationError, data: Any) -> list[KeyPath]:
    """The key path (in ``data``) of every error of ``exc``."""
    return [_clean(tuple(error["loc"]), data) for error in exc.errors()]


def _clean(loc: tuple[int | str, ...], data: Any) -> KeyPath:
    """Keep the parts of ``loc`` that are keys or indexes of ``data``; drop pydantic's tags."""
    out: list[str | int] = []
    node: Any = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int):
            out.append(part)
            node = node[part] if 0 <= part < len(node) else None
        elif isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and node.get("type") == part:
            continue  # the discriminator tag of a union member (``agent``, ``cost``)
        elif isinstance(node, dict) and isinstance(part, str) and not _is_marker(part):
            out.append(part)  # a key the input lacks (a missing field)
            node = None
        elif isinstance(node, dict) and part == "[key]":
            continue
    return tuple(out)


def _is_marker(part: str) -> bool:
    return "[" in part or part in ("str", "int", "float", "bool", "function-after")


def _describe(error: Any, root: type[BaseModel], raw: tuple[int | str, ...]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        keys = allowed_keys(root, raw[:-1])
        if not keys:
            return "unknown key"
        hint = did_you_mean(str(raw[-1]), keys)
        return f"unknown key{hint}; allowed keys: {', '.join(keys)}"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"{_show(error.get('input'))} is not allowed; use {ctx.get('expected', '')}"
    if kind == "union_tag_invalid":
        return f"'{ctx.get('tag')}' is not a valid type; use {_or(ctx.get('expected_tags', ''))}"
    if kind == "union_tag_not_found":
        return "required key is missing"
    if raw and raw[-1] == "[key]":
        return "keys here must be strings"
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}, got {_kind_of(error.get('input'))}"
    if kind == "too_short":
        count = ctx.get("min_length", 1)
        return f"needs at least {count} item{'' if count == 1 else 's'}"
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "less_than_equal": ("at most", "le"),
        "greater_than": ("greater than", "gt"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        word, key = bounds[kind]
        return f"must be {word} {_number(ctx.get(key))}"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def allowed_keys(root: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model at pydantic location ``loc`` accepts (empty if unknown)."""
    current: Any = root
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    model = _unwrap(current)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(model.model_fields)
    return []


def _step(annotation: Any, part: int | str) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field is not None else None
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is tuple and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    if _is_union(annotation):
        for member in args:
            member = _unwrap(member)
            if isinstance(member, type) and issubclass(member, BaseModel):
                field = member.model_fields.get("type")
                if field is not None and part in get_args(field.annotation):
                    return member
    return None


def _unwrap(annotation: Any) -> Any:
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if _is_union(annotation):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _show(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


def _or(tags: str) -> str:
    return tags.replace("', '", "' or '")


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
