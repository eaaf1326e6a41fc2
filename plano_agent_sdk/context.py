"""The per-request context an agent handler receives, and the one ContextVar that holds it.

The Agent sets :data:`_current` in the request's task before anything else runs, so your
handler, the helpers it calls and every task it starts (tasks copy their parent's context)
can find the request they serve with :func:`current_context`, the way asgi-correlation-id
exposes its correlation id. The gateway client reads it on every call to forward
``traceparent``/``tracestate`` and ``x-request-id`` without you passing headers.

Inbound ids are validated before they are trusted: a ``traceparent`` that is not W3C
shaped is ignored, and an ``x-request-id`` with odd characters or length is replaced by a
fresh UUID4 (a caller cannot inject header text into our downstream calls).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from plano_asgi._asgi import sane_request_id
from plano_asgi.telemetry.propagation import valid_traceparent

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["Context", "current_context"]

_TRACESTATE = re.compile(r"^[\x20-\x7e]{1,512}$")


@dataclass(frozen=True, slots=True)
class Context:
    """What your handler knows about the request besides its body.

    Build one yourself only in tests; the Agent creates it per request.
    """

    agent: str
    """The agent's name (``Agent("weather_agent")``)."""
    request_id: str
    """The caller's ``x-request-id`` when valid, else a fresh UUID4."""
    llm: AsyncOpenAI
    """The gateway client: an ``openai.AsyncOpenAI`` that forwards this request's trace context."""
    traceparent: str | None = None
    """The caller's W3C ``traceparent`` (validated), or None."""
    tracestate: str | None = None
    """The caller's ``tracestate`` (only kept together with a valid ``traceparent``)."""
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Incoming request headers, lower-case names; repeated headers joined with ``", "``."""

    @property
    def trace_id(self) -> str | None:
        """The 32-hex trace id from ``traceparent``, or None."""
        if self.traceparent is None:
            return None
        return self.traceparent.split("-")[1]

    @property
    def listener(self) -> str | None:
        """The Plano listener that called you (``x-arch-agent-listener-name``), if any."""
        return self.headers.get("x-arch-agent-listener-name")

    def propagation_headers(self) -> dict[str, str]:
        """The headers to put on a call you make yourself (without the gateway client)."""
        out = {"x-request-id": self.request_id}
        if self.traceparent is not None:
            out["traceparent"] = self.traceparent
            if self.tracestate is not None:
                out["tracestate"] = self.tracestate
        return out


_current: ContextVar[Context | None] = ContextVar("plano_agent_sdk.context", default=None)


def current_context() -> Context | None:
    """The context of the request being served in this task, or None outside a request."""
    return _current.get()


def _headers_map(raw: Iterable[tuple[bytes, bytes]]) -> Mapping[str, str]:
    out: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[name] = f"{out[name]}, {text}" if name in out else text
    return MappingProxyType(out)


def _valid_traceparent(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value if valid_traceparent(value) else None


def build_context(
    agent: str, raw_headers: Iterable[tuple[bytes, bytes]], llm: AsyncOpenAI
) -> Context:
    """Build the context for one request from its raw ASGI headers (internal)."""
    headers = _headers_map(raw_headers)
    traceparent = _valid_traceparent(headers.get("traceparent"))
    tracestate = headers.get("tracestate") if traceparent else None
    if tracestate is not None and not _TRACESTATE.match(tracestate):
        tracestate = None
    return Context(
        agent=agent,
        request_id=sane_request_id(headers.get("x-request-id")),
        llm=llm,
        traceparent=traceparent,
        tracestate=tracestate,
        headers=headers,
    )
