"""plano_agent_sdk: write agents and filters for plano-asgi (or Plano) with only your logic.

An :class:`Agent` is an ASGI app; any ASGI server runs it.
"""

from __future__ import annotations

from plano_asgi.sse import ServerSentEvent, SSEDecoder, encode_event

__all__ = [
    "SSEDecoder",
    "ServerSentEvent",
    "encode_event",
]
