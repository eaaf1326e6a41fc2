"""Wire formats: OpenAI Chat Completions and Anthropic Messages, translated both ways.

Pure functions over request and response bodies (:mod:`~plano_asgi.wire.anthropic`,
:mod:`~plano_asgi.wire.anthropic_inbound`) and adapters over event streams
(:mod:`~plano_asgi.wire.streams`, :mod:`~plano_asgi.wire.anthropic_stream`), and the check
of an Anthropic Messages request (:mod:`~plano_asgi.wire.messages_request`), with no
server state, so the gateway (provider calls, ``/v1/messages``) and the agent listener
(``/v1/messages``, ``agents[].api``) share one implementation of each format.
"""
