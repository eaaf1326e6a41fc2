"""Errors an agent handler raises on purpose.

:class:`AgentError` joins the one plano-asgi error tree (it is a
:class:`~plano_asgi.errors.PlanoError`), so the same OpenAI envelope reaches the client
whether the failure happened in the gateway, the listener or your agent.
"""

from __future__ import annotations

from plano_asgi.errors import PlanoError

__all__ = ["AgentError"]


class AgentError(PlanoError):
    """Raise this from a handler to answer with your own status and message.

    Before the first byte is sent the client gets ``status`` with the OpenAI envelope;
    once a stream has started it gets one in-band ``data: {"error": {...}}`` event instead.
    The message is shown to the client as is, so keep secrets and prompt text out of it.
    """

    error_type = "agent_error"
    code = "agent_error"

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"AgentError status must be a 4xx or 5xx code, got {status}")
        super().__init__(message)
        self.status_code = status
        if code is not None:
            self.code = code
        if status < 500:
            self.error_type = "invalid_request_error"
