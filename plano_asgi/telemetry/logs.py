"""One structured log line per request, and header redaction.

The line is logfmt (``key=value`` pairs), for three reasons: it reads well in a terminal,
``grep request_id=...`` works the way it does on Plano's brightstaff logs, and Loki,
Vector, Datadog and friends parse it without configuration. The same fields travel as
``extra={"plano": {...}}`` on the log record, so a JSON formatter can emit them as JSON.

The line never contains prompt or response text, header values or keys: only ids,
names, status and timings. Log bodies only at DEBUG, through your own logger, and pass
headers through :func:`redact_headers` first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields as dataclass_fields
from typing import Any

__all__ = [
    "ACCESS_LOGGER",
    "LOG_FORMAT",
    "REDACTED",
    "RequestLog",
    "configure_logging",
    "format_logfmt",
    "log_request",
    "redact_headers",
]

ACCESS_LOGGER = "plano_asgi.access"
REDACTED = "[redacted]"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_HANDLER_MARK = "_plano_handler"

_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "cookie",
        "set-cookie",
        "x-goog-api-key",
    }
)
_SECRET_SUFFIXES = ("-api-key", "-token", "-secret")


@dataclass(frozen=True, slots=True)
class RequestLog:
    """What one request did, as logged once it ends."""

    request_id: str
    listener: str
    method: str
    path: str
    status: int
    """HTTP status sent to the client (0 when the client left before a response)."""
    duration_ms: float
    """Request received to last byte sent."""
    trace_id: str | None = None
    ttft_ms: float | None = None
    """Request received to first response body byte."""
    agents: tuple[str, ...] = ()
    router: str | None = None
    fallback: str | None = None
    """Why the router's first-hand answer was not used, if it was not."""
    model: str | None = None
    """Resolved model on the model listener."""
    error: str | None = None
    """Error type (``filter_rejected``, ``upstream_error``, ...); never a message."""

    def fields(self) -> dict[str, Any]:
        """The non-empty fields, in declaration order, agents comma-joined."""
        out: dict[str, Any] = {}
        for key in _FIELD_NAMES:  # not asdict(): it deep-copies every value, on every request
            value = getattr(self, key)
            if value is None or value == ():
                continue
            if key == "agents":
                value = ",".join(value)
            elif isinstance(value, float):
                value = round(value, 2)
            out[key] = value
        return out


_FIELD_NAMES = tuple(f.name for f in dataclass_fields(RequestLog))
_QUOTED = re.compile(r'[ "=\\\n\t]')
"""What makes a logfmt value need quotes: a space, quote, ``=``, backslash, newline or tab."""


def format_logfmt(fields: Mapping[str, Any]) -> str:
    """``key=value`` pairs; values with spaces, quotes or ``=`` are quoted and escaped."""
    parts = []
    for key, value in fields.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        if text == "" or _QUOTED.search(text):
            escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            text = f'"{escaped}"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


def log_request(record: RequestLog, logger: logging.Logger | None = None) -> str:
    """Log ``record`` on ``plano_asgi.access`` (INFO, WARNING for 5xx); returns the line."""
    target = logger or logging.getLogger(ACCESS_LOGGER)
    fields = record.fields()
    line = format_logfmt(fields)
    level = logging.WARNING if record.status >= 500 else logging.INFO
    if target.isEnabledFor(level):
        # makeRecord + handle is what Logger.log does, less its walk up the stack for the
        # caller's file and line: this line is logged from here every time, on every request.
        target.handle(
            target.makeRecord(
                target.name, level, __file__, 0, "%s", (line,), None, extra={"plano": fields}
            )
        )
    return line


def redact_headers(
    headers: Mapping[str, str] | Iterable[tuple[bytes, bytes]] | Iterable[tuple[str, str]],
) -> dict[str, str]:
    """A copy of ``headers`` (lower-case names) safe to log: credentials become ``[redacted]``.

    Redacts ``authorization``, ``proxy-authorization``, ``x-api-key``, ``api-key``,
    ``cookie``, ``set-cookie`` and any name ending in ``-api-key``, ``-token`` or ``-secret``.
    Repeated headers are joined with ``, ``.
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for raw_key, raw_value in items:
        key = (raw_key.decode("latin-1") if isinstance(raw_key, bytes) else raw_key).lower()
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        if key in _SECRET_HEADERS or key.endswith(_SECRET_SUFFIXES):
            value = REDACTED
        out[key] = f"{out[key]}, {value}" if key in out and value != REDACTED else value
    return out


def configure_logging(
    level: str | int = "info",
    *,
    loggers: Iterable[str] = ("plano_asgi", "plano_agent_sdk"),
    stream: Any = None,
) -> list[logging.Handler]:
    """Print plano's log records (the access lines included) on stderr at ``level``.

    ``plano-asgi serve`` calls it: without a handler, Python prints only WARNING and above,
    so the INFO access lines would vanish. Each named logger gets one stream handler (a
    second call replaces it rather than adding another) and stops propagating, so a root
    handler you configured does not print every line twice. In your own app, configure
    logging your way instead and leave this alone.
    """
    numeric = level if isinstance(level, int) else logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    installed: list[logging.Handler] = []
    for name in loggers:
        target = logging.getLogger(name)
        for old in [h for h in target.handlers if getattr(h, _HANDLER_MARK, False)]:
            target.removeHandler(old)
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        setattr(handler, _HANDLER_MARK, True)
        target.addHandler(handler)
        target.setLevel(numeric)
        target.propagate = False
        installed.append(handler)
    return installed
