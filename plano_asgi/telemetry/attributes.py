"""Span attribute names Plano uses, and the custom attributes of ``tracing.span_attributes``.

Names are Plano's (spec §5.2-5.4) so dashboards and queries built for Plano keep working;
the ones under ``plano.`` are ours. :func:`custom_attributes` is a pure function: compute it
once per request and pass the result to every span of that request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plano_asgi.config.models import SpanAttributes

__all__ = [
    "SERVICE_AGENT",
    "SERVICE_FILTER",
    "SERVICE_LLM",
    "SERVICE_ORCHESTRATOR",
    "SERVICE_OVERRIDE",
    "SERVICE_ROUTING",
    "custom_attributes",
]

#: Per-span service name, as Plano's exporter reads it (``plano(agent)`` etc.).
SERVICE_OVERRIDE = "service.name.override"
SERVICE_ORCHESTRATOR = "plano(orchestrator)"
SERVICE_AGENT = "plano(agent)"
SERVICE_FILTER = "plano(filter)"
SERVICE_LLM = "plano(llm)"
SERVICE_ROUTING = "plano(routing)"

HeaderSource = Iterable[tuple[bytes, bytes]] | Mapping[str, str]


def custom_attributes(
    config: SpanAttributes | None, headers: HeaderSource | None = None
) -> dict[str, str]:
    """The custom span attributes of one request (spec §5.4).

    ``static`` pairs come first. Then every request header whose lower-case name starts with
    one of ``header_prefixes`` adds ``name minus prefix`` (leading ``-`` trimmed, the other
    ``-`` turned into ``.``) with the trimmed value; headers override static keys, and a
    header that leaves an empty key is ignored. The first matching prefix wins.

    ``headers`` may be ASGI raw headers or a mapping. With no config you get ``{}``.
    """
    if config is None:
        return {}
    result = dict(config.static)
    prefixes = [p.lower() for p in config.header_prefixes if p]
    if not prefixes or headers is None:
        return result
    items: Iterable[tuple[str, str]]
    if isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = ((k.decode("latin-1"), v.decode("latin-1")) for k, v in headers)
    for raw_name, value in items:
        name = raw_name.lower()
        for prefix in prefixes:
            if name.startswith(prefix):
                key = name[len(prefix) :].lstrip("-").replace("-", ".")
                if key:
                    result[key] = value.strip()
                break
    return result
