"""Which headers go where: client -> agents/filters, agent -> client.

Towards agents and filters we send the client's headers minus:

* hop-by-hop headers, ``host``, ``content-length`` and ``content-type`` (we set our own),
  ``accept-encoding`` (agents answer uncompressed, so we can read and relay their bytes);
* credentials (``authorization``, ``cookie``, ``x-api-key``, ``proxy-authorization``)
  unless the listener's ``forward_headers`` lists them (Plano forwards them everywhere);
* what we set ourselves: ``x-request-id``, trace context, ``x-arch-*``.

Towards the client we copy the final agent's headers minus hop-by-hop, ``content-length``
(we relay in chunks) and the server's own ``date``/``server``, and add ours (``x-request-id``,
``x-plano-agents``, ``x-plano-router``, ``x-plano-route-fallback``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from plano_asgi._asgi import HOP_BY_HOP, sane_request_id

__all__ = [
    "CREDENTIAL_HEADERS",
    "HOP_BY_HOP",
    "client_headers",
    "header_value",
    "relay_headers",
    "request_id",
]

CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "x-api-key", "proxy-authorization"})
_NEVER_FORWARDED = HOP_BY_HOP | {
    "host",
    "content-length",
    "content-type",
    "accept-encoding",
    "expect",
    "x-request-id",
    "traceparent",
    "tracestate",
    "x-arch-upstream",
    "x-arch-agent-listener-name",
    "x-envoy-original-path",
}
# content-encoding: replies are read decoded and re-framed (plano_asgi.listener.reading).
_NOT_RELAYED = HOP_BY_HOP | {"content-length", "content-encoding", "date", "server"}


def request_id(raw_headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's ``x-request-id`` when it is a sane token, else a fresh UUID4."""
    for key, value in raw_headers:
        if key.lower() == b"x-request-id":
            return sane_request_id(value.decode("latin-1"))
    return sane_request_id(None)


def client_headers(
    raw_headers: Iterable[tuple[bytes, bytes]], forward: Sequence[str] = ()
) -> dict[str, str]:
    """The client headers that may travel on to agents and filters (names lower-cased)."""
    allowed = {name.lower() for name in forward}
    out: dict[str, str] = {}
    for key, value in raw_headers:
        name = key.decode("latin-1").lower()
        if name in _NEVER_FORWARDED or name.startswith(("x-plano-", "x-envoy-")):
            continue
        if name in CREDENTIAL_HEADERS and name not in allowed:
            continue
        text = value.decode("latin-1")
        out[name] = f"{out[name]}, {text}" if name in out else text
    return out


def header_value(text: str, limit: int = 200) -> str:
    """``text`` made safe as one header value: printable latin-1 on one line, bounded."""
    cleaned = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    return cleaned[:limit]


def relay_headers(
    upstream: Iterable[tuple[str, str]], ours: Mapping[str, str], *, event_stream: bool
) -> list[tuple[bytes, bytes]]:
    """Response headers for the client: the agent's (cleaned) plus ``ours``."""
    replaced = {name.lower() for name in ours}
    if event_stream:
        replaced |= {"cache-control", "x-accel-buffering"}
    raw: list[tuple[bytes, bytes]] = []
    for name, value in upstream:
        lower = name.lower()
        if lower in _NOT_RELAYED or lower in replaced:
            continue
        raw.append((lower.encode("latin-1"), value.encode("latin-1", "replace")))
    if event_stream:
        raw.append((b"cache-control", b"no-cache"))
        raw.append((b"x-accel-buffering", b"no"))
    raw.extend(
        (k.lower().encode("latin-1"), v.encode("latin-1", "replace")) for k, v in ours.items()
    )
    return raw
