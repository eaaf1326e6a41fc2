"""Where the listener serving the current request is, for in-process agents' tool calls.

The middleware sets :data:`LISTENER_URL` while it serves a request. An in-process agent
runs in a task started from that request, so it inherits the value and its tool calls go
back to the very listener (and port) that called it, with no URL to configure. Agents
behind HTTP never see it; they are given the URL (``PLANO_LISTENER_URL``).
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.types import Scope

__all__ = ["LISTENER_URL", "listener_url"]

LISTENER_URL: ContextVar[str | None] = ContextVar("plano_asgi.listener_url", default=None)


def listener_url(scope: Scope) -> str | None:
    """``scheme://host:port[root_path]`` of the server socket that received ``scope``."""
    server = scope.get("server")
    if not server or server[1] is None:
        return None
    host, port = server
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    scheme = "https" if scope.get("scheme") == "https" else "http"
    return f"{scheme}://{host}:{port}{scope.get('root_path', '')}"
