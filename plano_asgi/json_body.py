"""Request bodies as JSON objects: the one parser every endpoint reads a body with.

The gateway (chat, messages, responses, the routing decision API), the agent listener and
SDK agents all parse a client's body with :func:`parse_json_object`, so each refuses the
same things with the same 400 before any field is looked at:

* a body that is not JSON (including invalid UTF-8);
* a body that is not a JSON object;
* ``NaN``, ``Infinity`` and numbers too large for a float (``1e999``): not JSON by
  RFC 8259, and a provider could not read them back;
* a string (or key) holding half of a UTF-16 surrogate pair (``"\\ud800"``): Python
  would parse it, but it has no UTF-8 form, so no hop could send it on;
* more than :data:`MAX_JSON_DEPTH` levels of nested arrays and objects. Real requests
  (tool schemas included) stay far below it; a pathological body (``[[[[...``) would
  otherwise exhaust the recursion of every layer that walks it later (validation,
  translation, re-serialisation).

The size cap comes first and is the caller's (:func:`plano_asgi._asgi.read_body`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from plano_asgi.errors import RequestError

__all__ = ["MAX_JSON_DEPTH", "json_depth_exceeds", "parse_json_object"]

MAX_JSON_DEPTH = 64
"""Most levels of nested arrays and objects in a request body (the body itself is level 1)."""


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large")
    return value


def parse_json_object(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """``raw`` as a JSON object, or a :class:`~plano_asgi.errors.RequestError` (400) saying
    what is wrong with it (see the module docstring)."""
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise RequestError(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError("Request body must be a JSON object.")
    if _may_nest_past(raw, max_depth) and json_depth_exceeds(data, max_depth):
        raise _too_deep(max_depth)
    # In bytes only an escape can make a lone surrogate (a raw one is invalid UTF-8), so
    # most bodies skip the walk; text (in-process callers) is always walked.
    if not isinstance(raw, bytes) or _SURROGATE_ESCAPE.search(raw):
        _refuse_lone_surrogates(data)
    return data


def _may_nest_past(raw: bytes | str, limit: int) -> bool:
    """Whether ``raw`` has enough opening brackets to nest past ``limit`` at all.

    Nesting ``limit + 1`` levels takes at least ``limit + 1`` of ``[`` and ``{``; counting
    them (brackets inside strings included, so never too few) is a C loop, and spares almost
    every body the walk of :func:`json_depth_exceeds`.
    """
    if isinstance(raw, bytes):
        return raw.count(b"[") + raw.count(b"{") > limit
    return raw.count("[") + raw.count("{") > limit


def json_depth_exceeds(value: object, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` levels deep.

    Iterative, so a value too deep for recursion is measured like any other.
    """
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _refuse_lone_surrogates(value: object) -> None:
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                raise _lone_surrogate(where)
        elif isinstance(item, dict):
            for key, child in item.items():
                if not _encodable(key):
                    raise _lone_surrogate(where)
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lone_surrogate(where: str) -> RequestError:
    what = "a string holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape)"
    if not where:
        return RequestError(f"Request body is not valid JSON: {what}.")
    return RequestError(f"Invalid request: {where}: {what}", param=where)


def _too_deep(limit: int) -> RequestError:
    return RequestError(
        f"Request body is nested too deeply: at most {limit} levels of arrays and objects."
    )
