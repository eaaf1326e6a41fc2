"""The one error hierarchy of plano-asgi, and its wire form.

Every failure the library can report is a :class:`PlanoError`. Each carries the HTTP
status it maps to and an OpenAI-style ``type``/``code``, so the edge that talks to the
client (the listener or the gateway) turns any of them into the same envelope::

    {"error": {"message": "...", "type": "...", "code": "...", "param": null}}

The tree::

    PlanoError
    ├── ConfigError (ValueError)            bad plano_config.yaml; carries every ConfigIssue
    ├── RoutingDataError (ValueError)       a bad line in a routing case file (eval-routes):
    │                                       the file, the line and what is wrong
    ├── MissingExtraError (ImportError)     an optional part is not installed: names the
    │                                       extra, e.g. pip install 'plano-asgi[server]'
    ├── RequestError                        the client sent something we cannot serve (4xx)
    │   ├── PayloadTooLargeError            413
    │   ├── ModelNotFoundError              404, names what is available
    │   ├── RateLimitedError                429, with Retry-After
    │   └── PreviousResponseNotFoundError   400, an unknown ``previous_response_id``
    ├── RoutingError                        the router failed or answered garbage (internal:
    │                                       the listener falls back, it never reaches clients)
    ├── FilterRejectedError                 a filter said no: its own 4xx and message
    ├── UpstreamError                       a hop failed (502); names the hop and target
    │   └── UpstreamTimeoutError            the hop timed out (504)
    ├── StateStoreError                     the conversation state store failed (503);
    │                                       names the store, never its credentials
    └── AgentError (plano_agent_sdk)        raised by agent handlers: status and message

Only edges render errors. Messages never include secrets: callers build them from ids,
URLs without credentials and status codes, never from headers or keys. Where a hop's own
message is passed on (an agent's error), it goes through :func:`scrub_secrets` first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "FilterRejectedError",
    "MissingExtraError",
    "ModelNotFoundError",
    "OutboundBodyTooLargeError",
    "OutboundConnectError",
    "OutboundError",
    "OutboundProtocolError",
    "OutboundReadError",
    "OutboundRequestError",
    "PayloadTooLargeError",
    "PlanoError",
    "PreviousResponseNotFoundError",
    "RateLimitedError",
    "RequestError",
    "RoutingDataError",
    "RoutingError",
    "StateStoreError",
    "UpstreamError",
    "UpstreamTimeoutError",
    "error_body",
    "scrub_secrets",
]


class PlanoError(Exception):
    """Base class of every error plano-asgi raises on purpose."""

    status_code: int = 500
    error_type: str = "server_error"
    code: str | None = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI-style error envelope for this error."""
        return error_body(self.message, type=self.error_type, code=self.code)

    def headers(self) -> dict[str, str]:
        """Extra response headers that belong with this error (e.g. ``retry-after``)."""
        return {}


def error_body(
    message: str, *, type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """Build ``{"error": {...}}`` in the shape OpenAI clients parse."""
    return {"error": {"message": message, "type": type, "code": code, "param": param}}


_SECRET_PATTERNS = (
    # Provider keys: OpenAI/Anthropic "sk-...", Google "AIza...", AWS, GitHub, Slack.
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
    # JSON web tokens.
    re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
)
_SECRET_AFTER = (
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=\-]{6,}"),
    re.compile(
        r"(?i)(\b(?:api[_-]?key|access[_-]?key|secret|token|password|passwd|authorization)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]{4,}"
    ),
)


def scrub_secrets(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``[redacted]``.

    Used on messages that come from a hop we do not control (an agent's own error) before
    they reach a client or a log: provider keys, bearer tokens, JWTs and ``key=value``
    pairs whose key names a secret.
    """
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    for pattern in _SECRET_AFTER:
        text = pattern.sub(r"\1[redacted]", text)
    return text


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem found in a config file.

    ``path`` is the key path (``listeners[0].agents[1].id``); ``line`` is the 1-based line
    in the YAML file when the config came from a file and the key could be located.
    """

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or "<root>"
        if self.line is not None:
            where = f"line {self.line}: {where}"
        return f"{where}: {self.message}"


class ConfigError(PlanoError, ValueError):
    """The configuration is invalid. ``issues`` lists every problem found, not just the first."""

    error_type = "invalid_config"
    code = "invalid_config"

    def __init__(self, issues: Sequence[ConfigIssue], *, source: str | None = None) -> None:
        self.issues = tuple(issues)
        self.source = source
        head = f"{source}: " if source else ""
        count = len(self.issues)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{head}{count} {noun} in the configuration:"]
        lines.extend(f"  - {issue}" for issue in self.issues)
        super().__init__("\n".join(lines))


class RoutingDataError(PlanoError, ValueError):
    """A line of a routing case file (``eval-routes`` data) is not a valid case.

    ``path`` and ``line`` (1-based) say where; the message reads ``path:line: what is wrong``,
    naming the field at fault (``messages``, ``agents[1].id``, ``expected[0]``, ...).
    """

    error_type = "invalid_routing_data"
    code = "invalid_routing_data"

    def __init__(self, problem: str, *, path: str, line: int) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.problem = problem
        self.path = path
        self.line = line


class MissingExtraError(PlanoError, ImportError):
    """Something optional was used without its extra installed; the message says which.

    An :class:`ImportError` too, so ``except ImportError`` guards keep working. ``extra`` is
    the extra's name (``server``, ``otel``, ``mcp``, ``router``, ``redis``, ``postgres``).
    """

    error_type = "server_error"
    code = "missing_extra"

    def __init__(self, extra: str, feature: str, cause: ImportError | None = None) -> None:
        missing = f" ({cause.name or cause} is not installed)" if cause is not None else ""
        super().__init__(
            f"{feature} needs the {extra} extra: pip install 'plano-asgi[{extra}]'{missing}"
        )
        self.extra = extra
        self.name = cause.name if cause is not None else None


class RequestError(PlanoError):
    """The client's request cannot be served as sent."""

    status_code = 400
    error_type = "invalid_request_error"
    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code
        self.param = param

    def to_dict(self) -> dict[str, Any]:
        return error_body(self.message, type=self.error_type, code=self.code, param=self.param)


class PayloadTooLargeError(RequestError):
    """The request body is larger than the configured limit."""

    status_code = 413
    code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body is larger than the limit of {limit} bytes.")
        self.limit = limit


class ModelNotFoundError(RequestError):
    """The requested model does not resolve to any configured provider."""

    status_code = 404
    code = "model_not_found"

    def __init__(self, model: str, available: Sequence[str]) -> None:
        shown = ", ".join(available) if available else "none"
        super().__init__(
            f"The model '{model}' is not configured. Available models: {shown}.", param="model"
        )
        self.model = model
        self.available = tuple(available)


class RateLimitedError(RequestError):
    """A token rate limit is exhausted; ``retry_after`` is in seconds."""

    status_code = 429
    error_type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(
        self, message: str, *, retry_after: float, limit: int, remaining: int, reset: float
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.limit = limit
        self.remaining = remaining
        self.reset = reset

    def headers(self) -> dict[str, str]:
        return {
            "retry-after": str(max(1, round(self.retry_after + 0.4999))),
            "x-ratelimit-limit-tokens": str(self.limit),
            "x-ratelimit-remaining-tokens": str(self.remaining),
            "x-ratelimit-reset-tokens": f"{self.reset:.3f}s",
        }


class PreviousResponseNotFoundError(RequestError):
    """``previous_response_id`` names no stored response (never stored, expired or evicted).

    Answered as OpenAI answers it: 400, ``param: previous_response_id``. Plano answers 409
    with a plain-text body.
    """

    code = "previous_response_not_found"

    def __init__(self, response_id: str) -> None:
        super().__init__(
            f"Previous response with id '{response_id}' not found.",
            param="previous_response_id",
        )
        self.response_id = response_id


class StateStoreError(PlanoError):
    """The conversation state store (``state_storage``) cannot be used: unreachable, refused
    the credentials, or failed a query. ``store`` names it (``postgres``, ``memory``); the
    message never carries the connection string."""

    status_code = 503
    error_type = "state_store_error"
    code = "state_store_unavailable"

    def __init__(self, message: str, *, store: str) -> None:
        super().__init__(message)
        self.store = store

    def to_dict(self) -> dict[str, Any]:
        body = error_body(self.message, type=self.error_type, code=self.code)
        body["error"]["store"] = self.store
        return body


class RoutingError(PlanoError):
    """The router could not decide: endpoint down, timeout, or an answer we cannot parse."""

    status_code = 502
    error_type = "routing_error"
    code = "router_failed"


class FilterRejectedError(PlanoError):
    """A filter rejected the request (HTTP 4xx, or an MCP tool result with ``isError``)."""

    error_type = "filter_rejected"
    code = "filter_rejected"

    def __init__(self, filter_id: str, status_code: int, message: str) -> None:
        super().__init__(f"Filter '{filter_id}' rejected the request: {message}")
        self.filter_id = filter_id
        self.status_code = status_code
        self.detail = message

    def to_dict(self) -> dict[str, Any]:
        body = error_body(self.message, type=self.error_type, code=self.code)
        body["error"]["filter"] = self.filter_id
        return body


class UpstreamError(PlanoError):
    """A hop behind us failed: refused, reset, 5xx, or a reply we cannot use.

    ``hop`` says which kind of hop (``agent``, ``filter``, ``router``, ``provider``) and
    ``target`` which one (its id).
    """

    status_code = 502
    error_type = "upstream_error"
    code = "upstream_failed"

    def __init__(
        self,
        message: str,
        *,
        hop: str,
        target: str,
        upstream_status: int | None = None,
        status_code: int | None = None,
        extra: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.hop = hop
        self.target = target
        self.upstream_status = upstream_status
        if status_code is not None:
            # Passing a hop's own 4xx through (e.g. a provider's context-length error).
            self.status_code = status_code
        self.extra = dict(extra or {})
        """Fields merged into the error object (a provider's own ``type``/``code``)."""
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        body = error_body(self.message, type=self.error_type, code=self.code)
        body["error"].update(self.extra)
        body["error"]["hop"] = self.hop
        body["error"]["target"] = self.target
        if self.upstream_status is not None:
            body["error"]["upstream_status"] = self.upstream_status
        return body

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"retry-after": str(max(0, round(self.retry_after + 0.4999)))}


class UpstreamTimeoutError(UpstreamError):
    """A hop behind us did not answer in time."""

    status_code = 504
    code = "upstream_timeout"


class OutboundError(PlanoError):
    """An outbound HTTP call failed on the wire (the seam's one error vocabulary).

    Raised by every :class:`plano_asgi.outbound.HttpClient`, whatever library is behind it;
    the caller turns it into the :class:`UpstreamError` that names its hop. Timeouts are
    the builtin ``TimeoutError``.
    """

    status_code = 502
    error_type = "upstream_error"
    code = "upstream_failed"
    what = "an outbound call failed"
    """A short, secret-free reason for messages naming the hop."""


class OutboundConnectError(OutboundError):
    """No connection: refused, unresolvable, TLS handshake or certificate, proxy."""

    what = "no connection"


class OutboundProtocolError(OutboundError):
    """The server's reply broke HTTP: a malformed head, a bad ``content-length``, a cut body."""

    what = "a malformed or broken reply"


class OutboundReadError(OutboundError):
    """The connection failed after the request went out (reset, closed, read error)."""

    what = "the connection failed"


class OutboundBodyTooLargeError(OutboundError):
    """The reply's body (after decoding) is larger than the caller reads
    (:func:`plano_asgi.outbound.seam.read_all`)."""

    what = "the reply was larger than allowed"


class OutboundRequestError(OutboundError):
    """Refused before sending: the request itself is invalid (e.g. CR/LF in a header)."""

    what = "the request was refused before sending"
