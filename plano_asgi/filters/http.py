"""HTTP filters (``type: http``): one JSON POST per call, wire-compatible with Plano.

The request is ``POST <url><path hint>`` (the url is a verbatim prefix, so
``http://h/anonymize`` + ``/v1/chat/completions`` posts to
``http://h/anonymize/v1/chat/completions``) carrying the payload as JSON. A 2xx JSON object
replaces the payload, JSON ``null`` drops an output event, a 4xx rejects the request with the
filter's own status and message, and anything else is a failure of the filter (502/504).

Unlike Plano we do not forward the client's whole header set (``Authorization``, cookies and
``Host`` would leak to every filter): callers hand us the already-cleaned forward headers,
including the trace context of the filter's span (``plano_asgi.telemetry`` opens one span per
filter call, so the filters themselves open none).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Literal

import anyio

from plano_asgi._asgi import HOP_BY_HOP
from plano_asgi.config import FilterDef
from plano_asgi.errors import (
    FilterRejectedError,
    OutboundBodyTooLargeError,
    OutboundError,
    OutboundProtocolError,
    OutboundReadError,
    UpstreamError,
    UpstreamTimeoutError,
)
from plano_asgi.filters.base import FilterCall
from plano_asgi.outbound import HttpClient, Phases
from plano_asgi.outbound.seam import MAX_READ_BYTES, read_all

__all__ = ["DEFAULT_FILTER_TIMEOUT", "HttpFilter", "rejection_message"]

logger = logging.getLogger("plano_asgi.filters")

DEFAULT_FILTER_TIMEOUT = 30.0
"""Seconds a filter call may take when the filter sets no ``timeout`` (Plano has none)."""

MAX_MESSAGE_CHARS = 512

# Never forwarded even if a caller passes them: they describe the client's own connection.
_HOP_HEADERS = HOP_BY_HOP | {"host", "content-length"}


def rejection_message(raw: str | bytes) -> str:
    """The human message inside a filter's error reply, whatever shape the filter chose.

    Understands the OpenAI envelope (``{"error": {"message": ...}}``), ``{"error": "..."}``,
    ``{"message": "..."}`` and ``{"detail": "..."}`` (FastAPI); otherwise the raw text.
    Truncated so a filter cannot make us echo megabytes to the client.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    message = text.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            message = error["message"]
        elif isinstance(error, str):
            message = error
        elif isinstance(data.get("message"), str):
            message = data["message"]
        elif isinstance(data.get("detail"), str):
            message = data["detail"]
    elif isinstance(data, str):
        message = data
    if not message:
        message = "rejected"
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return message


def filter_headers(filter_id: str, call: FilterCall) -> dict[str, str]:
    """Headers for one filter hop: the caller's forward set plus Plano's fixed ones."""
    headers = {
        name.lower(): value
        for name, value in call.headers.items()
        if name.lower() not in _HOP_HEADERS
    }
    if call.request_id and "x-request-id" not in headers:
        headers["x-request-id"] = call.request_id
    headers["x-arch-upstream"] = filter_id
    return headers


def decode_payload(filter_id: str, body: bytes) -> dict[str, Any] | None:
    """A filter's 2xx reply as a payload: a JSON object, or ``None`` for JSON ``null``."""
    try:
        data = json.loads(body)
    except ValueError:
        raise UpstreamError(
            f"Filter '{filter_id}' returned a reply that is not JSON.",
            hop="filter",
            target=filter_id,
        ) from None
    if data is None or isinstance(data, dict):
        return data
    raise UpstreamError(
        f"Filter '{filter_id}' returned {type(data).__name__}, expected a JSON object.",
        hop="filter",
        target=filter_id,
    )


class HttpFilter:
    """A ``type: http`` filter: stateless, one POST per call on a shared outbound client."""

    def __init__(self, definition: FilterDef, *, client: HttpClient) -> None:
        self.id = definition.id
        self.on_error: Literal["fail", "allow"] = definition.on_error
        self.url = definition.url.rstrip("/")
        self.timeout = definition.timeout or DEFAULT_FILTER_TIMEOUT
        self._client = client

    def __repr__(self) -> str:
        return f"HttpFilter(id={self.id!r}, url={self.url!r})"

    async def apply(self, payload: dict[str, Any], call: FilterCall) -> dict[str, Any] | None:
        """POST the payload and return the filter's replacement (see the module docstring)."""
        url = self.url + (call.path if call.path.startswith("/") else "/" + call.path)
        headers = filter_headers(self.id, call)
        headers["accept"] = "application/json"
        headers["content-type"] = "application/json"
        body = json.dumps(payload, separators=(",", ":")).encode()
        status, content = await self._post(url, body, headers)
        return self._outcome(status, content)

    async def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        phases = Phases(connect=self.timeout, read=self.timeout)
        try:
            with anyio.fail_after(self.timeout):
                async with self._client.open(
                    "POST", url, headers=headers, body=body, phases=phases
                ) as reply:
                    content = await read_all(reply)
        except TimeoutError:
            raise UpstreamTimeoutError(
                f"Filter '{self.id}' did not answer within {self.timeout:g}s.",
                hop="filter",
                target=self.id,
            ) from None
        except OutboundBodyTooLargeError:
            raise UpstreamError(
                f"Filter '{self.id}' sent a reply larger than {MAX_READ_BYTES} bytes.",
                hop="filter",
                target=self.id,
            ) from None
        except (OutboundProtocolError, OutboundReadError) as exc:
            # Connected, then the reply broke off (e.g. shorter than its content-length).
            raise UpstreamError(
                f"Filter '{self.id}' broke off its reply ({exc.what}).",
                hop="filter",
                target=self.id,
            ) from exc
        except OutboundError as exc:
            raise UpstreamError(
                f"Filter '{self.id}' is unreachable: {exc.what}.",
                hop="filter",
                target=self.id,
            ) from exc
        return reply.status, content

    def _outcome(self, status: int, content: bytes) -> dict[str, Any] | None:
        if 200 <= status < 300:
            return decode_payload(self.id, content)
        if 400 <= status < 500:
            raise FilterRejectedError(self.id, status, rejection_message(content))
        logger.warning("filter %s answered HTTP %d", self.id, status)
        raise UpstreamError(
            f"Filter '{self.id}' failed with HTTP {status}.",
            hop="filter",
            target=self.id,
            upstream_status=status,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the registry or the caller."""
