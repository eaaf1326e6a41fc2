"""What all requests of one listener share: built once by the middleware, read-only after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from opentelemetry.trace import Tracer

from plano_asgi.config import AgentListener
from plano_asgi.config.models import Tracing
from plano_asgi.filters.chain import FilterChain
from plano_asgi.listener.selection import Selector
from plano_asgi.listener.transport import AgentTarget
from plano_asgi.outbound.seam import HttpClient
from plano_asgi.redaction import NO_SECRETS, Redactor
from plano_asgi.telemetry.metrics import PlanoMetrics

if TYPE_CHECKING:
    from plano_asgi.state import ConversationStore

__all__ = ["FilterSource", "ListenerRuntime"]


class FilterSource(Protocol):
    """Where the listener gets filter chains (a ``FilterRegistry`` or anything alike)."""

    def chain(self, ids: Sequence[str]) -> FilterChain: ...


@dataclass(frozen=True, slots=True)
class ListenerRuntime:
    """What every exchange of one listener shares (built once by the middleware)."""

    listener: AgentListener
    selector: Selector
    targets: Mapping[str, AgentTarget]
    client: HttpClient
    """Every outbound call: the agent hop, HTTP filters, the orchestrator router (the
    outbound seam: see :mod:`plano_asgi.outbound`)."""
    filters: FilterSource | None
    tracing: Tracing | None = None
    """``config.tracing``: custom span attributes for every span of a request."""
    tracer: Tracer | None = None
    """Where spans go (default: the library tracer of the global provider)."""
    metrics: PlanoMetrics | None = None
    """Where request metrics go (default: the process-wide set)."""
    filter_types: Mapping[str, str] = field(default_factory=dict)
    """Filter id -> ``http`` or ``mcp``, for span names."""
    conversations: ConversationStore | None = None
    """``/v1/responses`` conversation state (``state_storage``); ``None`` without one."""
    redactor: Redactor = NO_SECRETS
    """The config's keys (:attr:`~plano_asgi.config.PlanoConfig.secrets`), kept out of
    what agents send back, errors and logs; each exchange adds the client's own key."""
