"""W3C trace context in and out of every hop: validate, extract, inject.

We never drop a client's trace context (Plano strips it when tracing is off, spec §10 item
15): with no OpenTelemetry SDK installed the API is a no-op, but a valid ``traceparent`` is
still carried to the next hop. An inbound ``traceparent`` is validated before it is trusted
(:func:`valid_traceparent`); an invalid one is ignored together with its ``tracestate``, as
W3C Trace Context asks.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from opentelemetry import propagate
from opentelemetry.context import Context

__all__ = ["extract_context", "inject_headers", "new_traceparent", "valid_traceparent"]

_PROPAGATED = ("traceparent", "tracestate", "baggage")
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_MAX_HEADER = 8192


def valid_traceparent(value: str) -> bool:
    """Whether ``value`` is a well-formed W3C ``traceparent`` you may continue.

    Version ``ff``, all-zero ids, upper-case hex and extra fields on version ``00`` are
    rejected; later versions may carry extra ``-``-separated fields (forward compatible).
    """
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return False
    version, trace_id, span_id, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return False
    return trace_id != "0" * 32 and span_id != "0" * 16


def new_traceparent() -> str:
    """A fresh, valid, unsampled W3C ``traceparent`` (random trace and parent ids).

    For a request that came without one while no tracing SDK records: every hop of the
    request then still shares one trace id, so agents and filters can correlate.
    """
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


def extract_context(headers: Iterable[tuple[bytes, bytes]] | Mapping[str, str]) -> Context:
    """The remote parent context carried by request headers (ASGI raw headers or a mapping).

    An invalid ``traceparent`` is dropped with its ``tracestate``; ``baggage`` is kept.
    """
    carrier = _carrier(headers)
    parent = carrier.get("traceparent")
    if parent is not None and not valid_traceparent(parent):
        carrier.pop("traceparent", None)
        carrier.pop("tracestate", None)
    return propagate.extract(carrier)


def _carrier(headers: Iterable[tuple[bytes, bytes]] | Mapping[str, str]) -> dict[str, str]:
    carrier: dict[str, str] = {}
    items: Iterable[tuple[str, str]]
    if isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = ((k.decode("latin-1"), v.decode("latin-1")) for k, v in headers)
    for key, value in items:
        name = key.lower()
        if name in _PROPAGATED and name not in carrier and len(value) <= _MAX_HEADER:
            carrier[name] = value
    return carrier


def inject_headers(
    headers: MutableMapping[str, str],
    context: Context | None = None,
    *,
    incoming: Mapping[str, str] | None = None,
) -> MutableMapping[str, str]:
    """Write ``traceparent``/``tracestate``/``baggage`` for ``context`` into ``headers``.

    Call it on every outbound hop with the context of the span that makes the call
    (``StreamSpan.context``). Any stale propagation headers already in ``headers`` (for
    example copied from the client) are replaced. When no span is recording (no SDK) and
    ``context`` carries no valid span, the client's own valid headers from ``incoming`` are
    carried unchanged, so the trace is never cut.
    """
    carrier: dict[str, Any] = {}
    propagate.inject(carrier, context=context)
    if "traceparent" not in carrier and incoming is not None:
        client = _carrier(incoming)
        if valid_traceparent(client.get("traceparent", "")):
            carrier = {**client, **carrier}
    existing = {k.lower(): k for k in headers}
    if "traceparent" in carrier:
        stale = set(_PROPAGATED)
    else:
        # Nothing better to send: keep a valid traceparent already in ``headers``, but drop
        # an invalid one (and its tracestate) so no hop receives garbage from us.
        stale = set(carrier)
        current = existing.get("traceparent")
        if current is not None and not valid_traceparent(headers[current]):
            stale |= {"traceparent", "tracestate"}
    for name in stale:
        if name in existing:
            del headers[existing[name]]
    for name, value in carrier.items():
        headers[name] = str(value)
    return headers
