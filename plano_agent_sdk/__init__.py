"""plano_agent_sdk: write agents and filters for plano-asgi (or Plano) with only your logic.

An :class:`Agent` is an ASGI app; any ASGI server runs it. :func:`agent_tools` hands your
LLM calls the listener's other agents as tools (MCP, through the listener). A filter is a
plain function that :func:`filter_function` turns into an HTTP filter app and an MCP tool.
Testing helpers live in :mod:`plano_agent_sdk.testing`.
"""

from __future__ import annotations

import typing

from plano_asgi import _lazy

if typing.TYPE_CHECKING:
    from plano_agent_sdk.agent import Agent, HandlerFunc
    from plano_agent_sdk.chunks import collect_text, encode_chunks, iter_chunks, text_chunks
    from plano_agent_sdk.context import Context, current_context
    from plano_agent_sdk.errors import AgentError
    from plano_agent_sdk.extract import JSONNotFoundError, extract_json
    from plano_agent_sdk.filters import (
        FilterFn,
        FilterFunction,
        FilterRejection,
        filter_function,
        http_filter_app,
        mcp_filter_app,
        mcp_filter_server,
    )
    from plano_agent_sdk.gateway import forward_context, gateway_client
    from plano_agent_sdk.listener_tools import AgentToolError, AgentTools, agent_tools
    from plano_agent_sdk.request import AgentRequest, parse_agent_request
    from plano_agent_sdk.streaming import Chunk, HandlerResult
    from plano_agent_sdk.windowing import window_messages
    from plano_asgi.sse import (
        DONE,
        ServerSentEvent,
        SSEDecoder,
        aiter_events,
        encode_data,
        encode_event,
        encode_json,
    )

__all__ = [
    "Agent",
    "AgentError",
    "AgentRequest",
    "AgentToolError",
    "AgentTools",
    "Chunk",
    "Context",
    "DONE",
    "FilterFn",
    "FilterFunction",
    "FilterRejection",
    "HandlerFunc",
    "HandlerResult",
    "JSONNotFoundError",
    "SSEDecoder",
    "ServerSentEvent",
    "agent_tools",
    "aiter_events",
    "collect_text",
    "current_context",
    "encode_chunks",
    "encode_data",
    "encode_event",
    "encode_json",
    "extract_json",
    "filter_function",
    "forward_context",
    "gateway_client",
    "http_filter_app",
    "iter_chunks",
    "mcp_filter_app",
    "mcp_filter_server",
    "parse_agent_request",
    "text_chunks",
    "window_messages",
]

__getattr__, __dir__ = _lazy.lazy_exports(
    __name__,
    {
        "Agent": "plano_agent_sdk.agent",
        "AgentError": "plano_agent_sdk.errors",
        "AgentRequest": "plano_agent_sdk.request",
        "AgentToolError": "plano_agent_sdk.listener_tools",
        "AgentTools": "plano_agent_sdk.listener_tools",
        "Chunk": "plano_agent_sdk.streaming",
        "Context": "plano_agent_sdk.context",
        "DONE": "plano_asgi.sse",
        "FilterFn": "plano_agent_sdk.filters",
        "FilterFunction": "plano_agent_sdk.filters",
        "FilterRejection": "plano_agent_sdk.filters",
        "HandlerFunc": "plano_agent_sdk.agent",
        "HandlerResult": "plano_agent_sdk.streaming",
        "JSONNotFoundError": "plano_agent_sdk.extract",
        "SSEDecoder": "plano_asgi.sse",
        "ServerSentEvent": "plano_asgi.sse",
        "agent_tools": "plano_agent_sdk.listener_tools",
        "aiter_events": "plano_asgi.sse",
        "collect_text": "plano_agent_sdk.chunks",
        "current_context": "plano_agent_sdk.context",
        "encode_chunks": "plano_agent_sdk.chunks",
        "encode_data": "plano_asgi.sse",
        "encode_event": "plano_asgi.sse",
        "encode_json": "plano_asgi.sse",
        "extract_json": "plano_agent_sdk.extract",
        "filter_function": "plano_agent_sdk.filters",
        "forward_context": "plano_agent_sdk.gateway",
        "gateway_client": "plano_agent_sdk.gateway",
        "http_filter_app": "plano_agent_sdk.filters",
        "iter_chunks": "plano_agent_sdk.chunks",
        "mcp_filter_app": "plano_agent_sdk.filters",
        "mcp_filter_server": "plano_agent_sdk.filters",
        "parse_agent_request": "plano_agent_sdk.request",
        "text_chunks": "plano_agent_sdk.chunks",
        "window_messages": "plano_agent_sdk.windowing",
    },
)
