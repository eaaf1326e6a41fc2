"""The gateway's request check: every body is validated before it is routed or sent.

:func:`check_request` runs right after the body is parsed
(:func:`~plano_asgi.json_body.parse_json_object`: JSON, an object, finite numbers, nesting
depth) and before anything acts on it: routing preferences, the model's resolution, rate
limits, the provider's key, filters. So a malformed request is a 400 naming the field in
the client API's own words, whatever else is wrong (a provider without a key, an unknown
model), and never reaches code that would trip over it. Each API has one checker, shared
with the agent listener where the listener serves that API:

* ``openai`` (chat completions): :func:`~plano_asgi.chat.parse_chat_request`;
* ``anthropic`` (messages):
  :func:`~plano_asgi.wire.messages_request.check_messages_request`;
* ``responses``: :func:`~plano_asgi.responses.request.parse_responses_request` (imported
  on first use, like the rest of the Responses API).

The model name is checked too: it becomes part of some providers' URL paths.
"""

from __future__ import annotations

import re
from typing import Any

from plano_asgi.chat import parse_chat_request
from plano_asgi.errors import RequestError
from plano_asgi.wire.messages_request import check_messages_request

__all__ = ["MAX_MODEL_NAME_CHARS", "check_request"]

MAX_MODEL_NAME_CHARS = 256
"""Longest model name a request may ask for."""

_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+\-]*(/[A-Za-z0-9._:@+\-]+)*")


def check_request(api: str, body: dict[str, Any]) -> None:
    """Raise a :class:`~plano_asgi.errors.RequestError` (400) naming the first field of
    ``body`` that is not what ``api`` (``openai``, ``anthropic`` or ``responses``) expects."""
    if api == "anthropic":
        check_messages_request(body)
    elif api == "responses":
        from plano_asgi.responses.request import parse_responses_request

        parse_responses_request(body)
    else:
        parse_chat_request(body)
    model = body.get("model")
    if isinstance(model, str) and model and not _is_model_name(model):
        # A model name becomes part of a provider's URL path (Azure deployments, Vertex,
        # Bedrock): no dot segments, escapes, spaces or control characters reach it.
        raise RequestError(
            "Invalid request: model: expected a model name of letters, digits and "
            f"'._:@+-/' (at most {MAX_MODEL_NAME_CHARS} characters, no '..' segment)",
            param="model",
        )


def _is_model_name(model: str) -> bool:
    if len(model) > MAX_MODEL_NAME_CHARS or not _MODEL_NAME.fullmatch(model):
        return False
    return all(segment not in (".", "..") for segment in model.split("/"))
