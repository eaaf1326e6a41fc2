"""Trace context in and out of every hop, with opentelemetry-api only.

The library never configures an SDK or exporter (``plano-asgi serve`` does, from the
config). With no SDK installed the API is a no-op, but W3C ``traceparent`` is still
carried: we never drop a client's trace context (Plano strips it when tracing is off).

Rules followed here (see ../STYLE notes): start spans with an explicit parent context,
end them in ``finally`` after the last byte, and never attach a context across a
``yield``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context

__all__ = [
    "TRACER_NAME",
    "extract_context",
    "inject_headers",
    "tracer",
]

TRACER_NAME = "plano_asgi"

_PROPAGATED = ("traceparent", "tracestate", "baggage")


def tracer() -> trace.Tracer:
    """The library's tracer (from the global provider; a no-op until an SDK is configured)."""
    return trace.get_tracer(TRACER_NAME)


def extract_context(headers: Iterable[tuple[bytes, bytes]] | Mapping[str, str]) -> Context:
    """The remote parent context carried by request headers (ASGI raw headers or a mapping)."""
    if isinstance(headers, Mapping):
        carrier = {k.lower(): v for k, v in headers.items()}
    else:
        carrier = {}
        for key, value in headers:
            name = key.decode("latin-1").lower()
            if name in _PROPAGATED and name not in carrier:
                carrier[name] = value.decode("latin-1")
    return propagate.extract(carrier)


def inject_headers(
    headers: MutableMapping[str, str],
    context: Context | None = None,
    *,
    incoming: Mapping[str, str] | None = None,
) -> MutableMapping[str, str]:
    """Write ``traceparent``/``tracestate``/``baggage`` for ``context`` into ``headers``.

    When no span is recording (no SDK), the propagator writes nothing for an invalid span;
    then the client's own headers from ``incoming`` are carried unchanged, so the trace is
    never cut.
    """
    carrier: dict[str, Any] = {}
    propagate.inject(carrier, context=context)
    if "traceparent" not in carrier and incoming is not None:
        for name in _PROPAGATED:
            value = incoming.get(name)
            if value:
                carrier[name] = value
    for name, value in carrier.items():
        headers[name] = str(value)
    return headers
