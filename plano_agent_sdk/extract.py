"""``extract_json``: the JSON object inside an LLM's answer, however it was wrapped.

Models asked for JSON still answer with code fences, a sentence before or after the
object, a trailing comma, or Python-style single quotes. Plano's own router parser gives
up on all of these (spec §2.4, a rough edge); this helper takes the first JSON *object*
it can recover, trying in order:

1. the contents of each fenced code block (```json ... ``` or ``` ... ```), then the text;
2. in each, every balanced ``{...}`` (brackets inside strings are ignored), first one first;
3. each as strict JSON, then with trailing commas removed, then (only when it holds no
   double quotes at all) with single quotes turned into double quotes.

Arrays and scalars are not returned: you asked the model for an object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, overload

__all__ = ["JSONNotFoundError", "extract_json"]

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\r?\n?(.*?)```", re.DOTALL)
_MISSING: Any = object()


class JSONNotFoundError(ValueError):
    """No JSON object could be recovered from the text."""


@overload
def extract_json(text: str) -> dict[str, Any]: ...


@overload
def extract_json(text: str, *, default: Any) -> dict[str, Any] | Any: ...


def extract_json(text: str, *, default: Any = _MISSING) -> dict[str, Any] | Any:
    """Return the first JSON object found in ``text`` (an LLM answer), as a dict.

    Raises :class:`JSONNotFoundError` (a ``ValueError``) when there is none, unless you
    pass ``default``, which is then returned instead (``extract_json(text, default=None)``).
    """
    for candidate in _candidates(text):
        for segment in _objects(candidate):
            value = _parse(segment)
            if value is not None:
                return value
    if default is _MISSING:
        raise JSONNotFoundError("no JSON object found in the text")
    return default


def _candidates(text: str) -> Iterator[str]:
    for match in _FENCE.finditer(text):
        yield match.group(1)
    yield text


def _objects(text: str) -> Iterator[str]:
    """Every balanced ``{...}`` span, in order of its opening brace."""
    start = text.find("{")
    while start != -1:
        end = _balanced_end(text, start)
        if end is not None:
            yield text[start : end + 1]
        start = text.find("{", start + 1)


def _balanced_end(text: str, start: int) -> int | None:
    depth = 0
    quote: str | None = None
    escaped = False
    for index in range(start, len(text)):
        ch = text[index]
        if quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            # A single quote only opens a string where JSON-ish text would have one;
            # apostrophes in prose ("it's") must not swallow the rest.
            if ch == '"' or text[index - 1] in "{[,: \t\n":
                quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return index if ch == "}" else None
    return None


def _parse(segment: str) -> dict[str, Any] | None:
    attempts = [segment, _drop_trailing_commas(segment)]
    if '"' not in segment and "'" in segment:
        attempts.append(_drop_trailing_commas(segment.replace("'", '"')))
    for attempt in attempts:
        try:
            value = json.loads(attempt)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _drop_trailing_commas(segment: str) -> str:
    out: list[str] = []
    in_string = False
    escaped = False
    for index, ch in enumerate(segment):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == ",":
            rest = segment[index + 1 :].lstrip()
            if rest[:1] in ("}", "]"):
                continue
        out.append(ch)
    return "".join(out)
