"""``local_v1``: the embedded offline router, and the encoder seam it is built on."""

from __future__ import annotations

from plano_asgi.routing.local.clauses import split_clauses
from plano_asgi.routing.local.encoder import Encoder, MiniLMEncoder
from plano_asgi.routing.local.profiles import ScoreWeights
from plano_asgi.routing.local.remote import OpenAIEmbeddingsEncoder
from plano_asgi.routing.local.router import LocalRouter, LocalRouterSettings
from plano_asgi.routing.local.state import TopicSettings

__all__ = [
    "Encoder",
    "LocalRouter",
    "LocalRouterSettings",
    "MiniLMEncoder",
    "OpenAIEmbeddingsEncoder",
    "ScoreWeights",
    "TopicSettings",
    "split_clauses",
]
