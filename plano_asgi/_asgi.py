"""Small private ASGI helpers: body reading with a cap, JSON/error responses, paths, headers."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.types import Receive, Scope, Send

from plano_asgi.errors import PayloadTooLargeError, PlanoError
from plano_asgi.json_body import parse_json_object

__all__ = [
    "read_json_object",
    "ClientDisconnectedError",
    "HOP_BY_HOP",
    "client_credential",
    "header",
    "post_scope",
    "read_body",
    "request_headers",
    "route_path",
    "sane_request_id",
    "send_error",
    "send_json",
]


class ClientDisconnectedError(Exception):
    """The client went away while we were reading its request (internal, never rendered)."""


def route_path(scope: Scope) -> str:
    """The request path relative to where the app is mounted (path minus ``root_path``)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        rest = path[len(root_path) :]
        if rest == "" or rest.startswith("/"):
            return rest or "/"
    return path


def post_scope(
    path: str,
    headers: list[tuple[bytes, bytes]],
    *,
    server: tuple[str, int | None] | None = ("localhost", 80),
) -> dict[str, Any]:
    """The HTTP scope of a POST to ``path`` made in-process (no socket, no server).

    ``headers`` are raw (lower-case names); the caller adds ``content-length``.
    """
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": server,
        "state": {},
        "extensions": {},
    }


#: Headers that describe one connection, never a request: no hop forwards them.
HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "te", "trailer",
        "trailers", "transfer-encoding", "upgrade",
    }
)  # fmt: skip

_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}$")


def sane_request_id(value: str | None) -> str:
    """``value`` when it is a sane request id (a short token, safe in logs and headers), else a
    fresh UUID4. Every hop (listener, agent SDK, gateway) applies the same rule, so an id that
    one hop keeps is kept by the next."""
    if value is not None:
        value = value.strip()
        if _REQUEST_ID.match(value):
            return value
    return str(uuid.uuid4())


def request_headers(scope: Scope) -> dict[str, str]:
    """Every request header by lower-case name (latin-1; of repeated names, the last)."""
    return {
        bytes(key).decode("latin-1").lower(): bytes(value).decode("latin-1")
        for key, value in scope.get("headers", ())
    }


def client_credential(headers: Mapping[str, str]) -> str | None:
    """The credential a client sent: ``Authorization`` (``Bearer`` stripped) or ``x-api-key``."""
    value = headers.get("authorization")
    if value:
        scheme, _, rest = value.partition(" ")
        return rest.strip() if scheme.lower() == "bearer" and rest else value
    return headers.get("x-api-key") or None


def header(scope: Scope, name: bytes) -> str | None:
    """First value of request header ``name`` (lower-case bytes), decoded as latin-1."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def read_body(receive: Receive, limit: int) -> bytes:
    """Read the whole request body, raising ``PayloadTooLargeError`` past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnectedError
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_json(
    send: Send,
    status: int,
    body: Any,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
) -> None:
    """Send a complete JSON response."""
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    items = headers.items() if isinstance(headers, Mapping) else headers
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in items),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def send_error(
    send: Send, error: PlanoError, headers: Mapping[str, str] | None = None
) -> None:
    """Render ``error`` as an OpenAI-style envelope with its status."""
    merged = {**error.headers(), **(headers or {})}
    await send_json(send, error.status_code, error.to_dict(), merged)


async def read_json_object(receive: Receive, limit: int) -> tuple[bytes, dict[str, Any]]:
    """The request body (at most ``limit`` bytes) and its JSON object.

    Raises ``PayloadTooLargeError`` (413) past ``limit``, and
    :class:`~plano_asgi.errors.RequestError` (400) for everything
    :func:`~plano_asgi.json_body.parse_json_object` refuses.
    """
    raw = await read_body(receive, limit)
    return raw, parse_json_object(raw)
