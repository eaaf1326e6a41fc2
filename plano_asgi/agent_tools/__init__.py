"""A listener's agents as MCP tools: one tool per agent at ``/mcp`` (streamable HTTP).

Calling a tool runs one turn pinned to that agent through the listener's own exchange, so
filters, header policy, timeouts, tracing and metrics are those of a routed turn.
:mod:`plano_asgi.agent_tools.server` needs the ``mcp`` extra and imports it only when the
endpoint is first used.
"""

from __future__ import annotations

import typing

from plano_asgi import _lazy

if typing.TYPE_CHECKING:
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

__getattr__, __dir__ = _lazy.lazy_exports(
    __name__,
    {
        "LISTENER_URL": "plano_asgi.agent_tools.origin",
        "TOOL_INPUT_SCHEMA": "plano_asgi.agent_tools.arguments",
        "ToolAnswer": "plano_asgi.agent_tools.turn",
        "ToolArgumentError": "plano_asgi.agent_tools.arguments",
        "listener_url": "plano_asgi.agent_tools.origin",
        "run_tool_turn": "plano_asgi.agent_tools.turn",
        "tool_messages": "plano_asgi.agent_tools.arguments",
    },
)
