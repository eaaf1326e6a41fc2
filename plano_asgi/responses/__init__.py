"""The OpenAI Responses API (``POST /v1/responses``) on top of Chat Completions.

:mod:`~plano_asgi.responses.request` checks a request and builds the chat request,
:mod:`~plano_asgi.responses.output` builds the ``response`` object from a chat answer,
:mod:`~plano_asgi.responses.events` turns a chat stream into Responses events, and
:class:`~plano_asgi.responses.endpoint.ResponsesEndpoint` puts them together in front of
any chat completions ASGI app, with conversation state from :mod:`plano_asgi.state`.
"""

from __future__ import annotations

from plano_asgi.responses.endpoint import ResponsesEndpoint

__all__ = ["ResponsesEndpoint"]
