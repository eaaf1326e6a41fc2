"""Hypothesis strategies for request bodies and headers, valid-looking and not.

* :func:`json_values`: any JSON value, with odd text (lone surrogates, NUL, bidi controls,
  combining marks), huge integers and extreme floats;
* :func:`any_body`: a valid body for an API with fields overwritten by arbitrary JSON
  (it may stay valid: only the universal properties hold);
* :func:`malformed_body`: a body with one field made certainly wrong (it must be a 4xx);
* :func:`odd_valid_body`: a well-formed body with odd values (it reaches providers and
  agents, translated both ways);
* :func:`raw_bodies`: bytes that are not a JSON object, or nest too deeply;
* :func:`header_lists`: the headers the apps act on, with the bytes a server lets through.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from plano_asgi.json_body import MAX_JSON_DEPTH
from tests.fuzz.apps import MODELS

__all__ = [
    "any_body",
    "header_lists",
    "json_values",
    "malformed_body",
    "odd_valid_body",
    "raw_bodies",
]

ODD = ("\ud800", "\udfff", "\x00", "\u202e", "\ufeff", "e\u0301", "\x7f", "𝕏", "../", "%2e", "\r\n")
KEYS = (
    "model", "messages", "stream", "temperature", "top_p", "max_tokens", "n", "stop", "tools",
    "tool_choice", "system", "metadata", "input", "instructions", "previous_response_id",
    "routing_preferences", "response_format", "stream_options", "user", "max_output_tokens",
    "top_k", "stop_sequences", "max_completion_tokens", "store", "text", "role", "content",
    "type", "text", "source", "name", "id", "input_schema", "tool_calls", "function",
)  # fmt: skip
PART_TYPES = ("text", "image", "image_url", "tool_use", "tool_result", "input_text", "x")

texts = st.one_of(st.text(max_size=12), st.sampled_from(ODD), st.sampled_from(MODELS))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=6))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _valid(api: str, model: str) -> dict[str, Any]:
    if api == "responses":
        return {"model": model, "input": "hi"}
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    if api == "messages":
        body["max_tokens"] = 16
    return body


parts = st.fixed_dictionaries(
    {"type": st.sampled_from(PART_TYPES)},
    optional={
        name: json_values(4)
        for name in ("text", "source", "image_url", "input", "content", "id", "name")
    },
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(("user", "assistant", "system", "tool", "x"))},
        optional={
            "content": st.one_of(texts, st.lists(st.one_of(parts, json_values(3)), max_size=3)),
            "name": json_values(2),
            "tool_calls": json_values(6),
            "tool_call_id": json_values(1),
        },
    ),
    max_size=3,
)


@st.composite
def any_body(draw: st.DrawFn, api: str) -> dict[str, Any]:
    body = _valid(api, draw(st.sampled_from(MODELS)))
    if draw(st.booleans()):
        body["messages" if api != "responses" else "input"] = draw(messages)
    for key in draw(st.lists(st.sampled_from(KEYS[:24]), max_size=4)):
        body[key] = draw(json_values())
    return body


def _not(*allowed: type) -> st.SearchStrategy[Any]:
    """JSON values of none of the ``allowed`` types (``None`` counts as allowed)."""

    def wrong(value: Any) -> bool:
        if value is None:
            return False
        if isinstance(value, bool):
            return bool not in allowed
        return not isinstance(value, allowed)

    return json_values(4).filter(wrong)


_INT32 = 2**31 - 1
_WRONG_INT = st.one_of(st.integers(max_value=0), st.integers(min_value=_INT32 + 1), _not(int))
_WRONG: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "chat": {
        "messages": st.one_of(_not(list).filter(lambda v: v is not None), st.just([]),
                              st.lists(_not(dict), min_size=1, max_size=2)),
        "model": _not(str),
        "stream": _not(bool),
        "temperature": st.one_of(st.floats(min_value=2.001, max_value=1e300),
                                 st.floats(max_value=-0.001, min_value=-1e300), _not(int, float)),
        "max_tokens": _WRONG_INT,
        "n": _WRONG_INT,
    },
    "messages": {
        "messages": st.one_of(_not(list).filter(lambda v: v is not None), st.just([]),
                              st.lists(_not(dict), min_size=1, max_size=2)),
        "model": _not(str),
        "stream": _not(bool),
        "max_tokens": st.one_of(st.none(), _WRONG_INT),
        "temperature": st.one_of(st.floats(min_value=1.001, max_value=1e300), _not(int, float)),
        "system": _not(str, list),
        "tools": _not(list),
    },
    "responses": {
        "input": st.one_of(_not(str, list).filter(lambda v: v is not None), st.none()),
        "model": _not(str),
        "stream": _not(bool),
        "tools": _not(list),
    },
}  # fmt: skip


@st.composite
def malformed_body(draw: st.DrawFn, api: str) -> tuple[str, dict[str, Any]]:
    """(the wrong field, the body)."""
    body = _valid(api, draw(st.sampled_from(MODELS[:2])))
    field = draw(st.sampled_from(sorted(_WRONG[api])))
    value = draw(_WRONG[api][field])
    if value is None:
        body.pop(field, None)  # a required field left out
    else:
        body[field] = value
    return field, body


def _deep(depth: int) -> bytes:
    return b'{"messages": ' + b"[" * depth + b"]" * depth + b"}"


raw_bodies = st.one_of(
    st.binary(max_size=64),
    json_values().filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=MAX_JSON_DEPTH, max_value=5_000).map(_deep),
    st.sampled_from(
        [b'{"max_tokens": NaN}', b'{"temperature": -Infinity}', b'{"top_p": 1e400}', b"{",
         b'{"model": "\xc3\x28"}', b"\xef\xbb\xbf{}", b'{"a": 1} x', b"", b"null"]
    ),
)  # fmt: skip

_HEADER_NAMES = (
    b"x-request-id", b"traceparent", b"tracestate", b"x-envoy-max-retries", b"x-user",
    b"content-type", b"authorization", b"x-api-key", b"accept", b"x-session-id",
    b"x-arch-llm-provider-hint", b"anthropic-version",
)  # fmt: skip
# What a server lets through in a header value: visible bytes, space and tab, obs-text.
_header_values = st.binary(max_size=48).map(
    lambda raw: bytes(b for b in raw if b == 9 or 32 <= b != 127).strip()
)
header_lists = st.lists(st.tuples(st.sampled_from(_HEADER_NAMES), _header_values), max_size=4)


# -- well-formed bodies with odd content: they reach providers and agents -----------------

_odd_text = st.one_of(st.text(max_size=20), st.sampled_from(ODD[1:]).map(lambda c: c * 3))
_odd_text = _odd_text.filter(lambda t: all(not 0xD800 <= ord(c) <= 0xDFFF for c in t))
_name = st.text(min_size=1, max_size=12)
_plain = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
_schema = st.dictionaries(st.text(max_size=6), st.one_of(_plain, st.lists(_plain)), max_size=3).map(
    lambda extra: {"type": "object", **extra}
)
_unit = st.floats(min_value=0, max_value=1)
_tokens = st.integers(min_value=1, max_value=_INT32)


def _chat_parts() -> st.SearchStrategy[Any]:
    text = st.fixed_dictionaries({"type": st.just("text"), "text": _odd_text})
    image = st.fixed_dictionaries(
        {"type": st.just("image_url"), "image_url": st.fixed_dictionaries({"url": _odd_text})}
    )
    return st.one_of(_odd_text, st.lists(st.one_of(text, image), min_size=1, max_size=3))


def _anthropic_blocks() -> st.SearchStrategy[Any]:
    text = st.fixed_dictionaries({"type": st.just("text"), "text": _odd_text})
    image = st.fixed_dictionaries(
        {
            "type": st.just("image"),
            "source": st.one_of(
                st.fixed_dictionaries(
                    {"type": st.just("base64"), "media_type": _odd_text, "data": _odd_text}
                ),
                st.fixed_dictionaries({"type": st.just("url"), "url": _odd_text}),
            ),
        }
    )
    tool_use = st.fixed_dictionaries(
        {"type": st.just("tool_use"), "id": _odd_text, "name": _odd_text, "input": _schema}
    )
    tool_result = st.fixed_dictionaries(
        {
            "type": st.just("tool_result"),
            "tool_use_id": _odd_text,
            "content": st.one_of(_odd_text, st.lists(text, max_size=2)),
        }
    )
    blocks = st.lists(st.one_of(text, image, tool_use, tool_result), min_size=1, max_size=3)
    return st.one_of(_odd_text, blocks)


_OPTIONAL: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "chat": {
        "temperature": st.floats(min_value=0, max_value=2),
        "top_p": _unit,
        "max_tokens": _tokens,
        "stream": st.booleans(),
        "stop": st.one_of(_odd_text, st.lists(_odd_text, max_size=2)),
        "user": _odd_text,
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "tools": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.just("function"),
                    "function": st.fixed_dictionaries({"name": _name, "parameters": _schema}),
                }
            ),
            max_size=2,
        ),
    },
    "messages": {
        "system": st.one_of(
            _odd_text,
            st.lists(
                st.fixed_dictionaries({"type": st.just("text"), "text": _odd_text}), max_size=2
            ),
        ),
        "temperature": _unit,
        "top_p": _unit,
        "top_k": st.integers(min_value=0, max_value=500),
        "stream": st.booleans(),
        "stop_sequences": st.lists(_odd_text, max_size=2),
        "metadata": st.fixed_dictionaries({"user_id": _odd_text}),
        "tool_choice": st.fixed_dictionaries(
            {"type": st.sampled_from(["auto", "any", "tool", "none"])}, optional={"name": _odd_text}
        ),
        "tools": st.lists(
            st.fixed_dictionaries(
                {"name": _name}, optional={"description": _odd_text, "input_schema": _schema}
            ),
            max_size=2,
        ),
    },
    "responses": {
        "instructions": _odd_text,
        "temperature": st.floats(min_value=0, max_value=2),
        "max_output_tokens": _tokens,
        "stream": st.booleans(),
        "store": st.booleans(),
        "tools": st.lists(
            st.fixed_dictionaries(
                {"type": st.just("function"), "name": _name, "parameters": _schema}
            ),
            max_size=2,
        ),
    },
}  # fmt: skip


@st.composite
def odd_valid_body(draw: st.DrawFn, api: str) -> dict[str, Any]:
    """A well-formed body for ``api`` whose values are odd: every check passes it on."""
    body: dict[str, Any] = {"model": draw(st.sampled_from(MODELS))}
    if api == "chat":
        roles = st.sampled_from(["user", "assistant", "system", "developer"])
        body["messages"] = draw(
            st.lists(
                st.fixed_dictionaries({"role": roles, "content": _chat_parts()}),
                min_size=1,
                max_size=3,
            )
        )
    elif api == "messages":
        count = draw(st.integers(min_value=1, max_value=3))
        body["messages"] = [
            {"role": ("user", "assistant")[n % 2], "content": draw(_anthropic_blocks())}
            for n in range(count)
        ]
        body["max_tokens"] = draw(_tokens)
    else:
        text_part = st.fixed_dictionaries({"type": st.just("input_text"), "text": _odd_text})
        item = st.fixed_dictionaries(
            {
                "role": st.sampled_from(["user", "system", "developer"]),
                "content": st.one_of(_odd_text, st.lists(text_part, min_size=1, max_size=2)),
            }
        )
        body["input"] = draw(st.one_of(_odd_text, st.lists(item, min_size=1, max_size=3)))
    for name, strategy in _OPTIONAL[api].items():
        if draw(st.booleans()):
            body[name] = draw(strategy)
    return body
