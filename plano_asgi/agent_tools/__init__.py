"""A listener's agents as MCP tools: one tool per agent at ``/mcp`` (streamable HTTP).

Calling a tool runs one turn pinned to that agent through the listener's own exchange, so
filters, header policy, timeouts, tracing and metrics are those of a routed turn.
:mod:`plano_asgi.agent_tools.server` needs the ``mcp`` extra and imports it only when the
endpoint is first used.
"""

from __future__ import annotations

from plano_asgi.agent_tools.arguments import TOOL_INPUT_SCHEMA, ToolArgumentError, tool_messages
from plano_asgi.agent_tools.origin import LISTENER_URL, listener_url
from plano_asgi.agent_tools.turn import ToolAnswer, run_tool_turn

__all__ = [
    "LISTENER_URL",
    "TOOL_INPUT_SCHEMA",
    "ToolAnswer",
    "ToolArgumentError",
    "listener_url",
    "run_tool_turn",
    "tool_messages",
]
