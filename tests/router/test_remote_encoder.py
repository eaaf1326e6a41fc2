"""The OpenAI-compatible embeddings encoder, against a fake endpoint on loopback."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plano_asgi.chat import ChatMessage
from plano_asgi.errors import RoutingError
from plano_asgi.routing.base import AgentCandidate
from plano_asgi.routing.local import Encoder, LocalRouter, OpenAIEmbeddingsEncoder
from plano_asgi.routing.local.lexical import words
from tests.support.servers import serve


def bag_of_words(text: str, dim: int = 64) -> list[float]:
    """A deterministic stand-in for an embedding model: hashed word counts."""
    vector = [0.0] * dim
    for word in words(text):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dim] += 1.0
    return vector


def fake_embeddings(seen: list[dict[str, Any]], *, status: int = 200) -> Starlette:
    async def embeddings(request: Request) -> JSONResponse:
        body = await request.json()
        seen.append({"body": body, "auth": request.headers.get("authorization")})
        if status != 200:
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=status)
        data = [
            {"object": "embedding", "index": i, "embedding": bag_of_words(text)}
            for i, text in enumerate(body["input"])
        ]
        data.reverse()  # the index, not the order, says which text a vector belongs to
        return JSONResponse({"object": "list", "data": data, "model": body["model"]})

    return Starlette(routes=[Route("/v1/embeddings", embeddings, methods=["POST"])])


@pytest.mark.anyio
async def test_encodes_in_batches_keeping_order() -> None:
    seen: list[dict[str, Any]] = []
    with anyio.fail_after(10):
        async with serve(fake_embeddings(seen)) as srv:
            encoder = OpenAIEmbeddingsEncoder(
                f"{srv.url}/v1/", "embed-small", api_key="sk-test", batch_size=2
            )
            assert isinstance(encoder, Encoder)
            texts = ["cheap flights to Rome", "weather in Rome", "book a taxi"]
            vectors = await anyio.to_thread.run_sync(encoder.encode, texts)
    assert [len(s["body"]["input"]) for s in seen] == [2, 1]
    assert seen[0]["body"]["model"] == "embed-small"
    assert seen[0]["auth"] == "Bearer sk-test"
    expected = np.asarray([bag_of_words(t) for t in texts])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(vectors, expected, atol=1e-6)


@pytest.mark.anyio
async def test_errors_become_routing_errors() -> None:
    seen: list[dict[str, Any]] = []
    with anyio.fail_after(10):
        async with serve(fake_embeddings(seen, status=503)) as srv:
            encoder = OpenAIEmbeddingsEncoder(f"{srv.url}/v1", "embed-small")
            with pytest.raises(RoutingError, match="HTTP 503"):
                await anyio.to_thread.run_sync(encoder.encode, ["hello"])
    assert seen[0]["auth"] is None


@pytest.mark.anyio
async def test_local_router_runs_on_a_plugged_in_encoder() -> None:
    agents = [
        AgentCandidate("weather", "Weather: forecasts, rain and temperature for a city."),
        AgentCandidate("flights", "Flights: search flights and flight status."),
    ]
    with anyio.fail_after(10):
        async with serve(fake_embeddings([])) as srv:
            router = LocalRouter(encoder=OpenAIEmbeddingsEncoder(f"{srv.url}/v1", "m"))
            messages = [ChatMessage(role="user", content="any flights to Rome on Friday?")]
            decision = await router.route(messages, agents)
    assert decision.agents == ("flights",)


def test_unreachable_endpoint_is_a_routing_error() -> None:
    from tests.support.servers import free_port

    encoder = OpenAIEmbeddingsEncoder(f"http://127.0.0.1:{free_port()}/v1", "m", timeout=2)
    with pytest.raises(RoutingError, match="failed"):
        encoder.encode(["hello"])
    assert json.dumps(encoder.url).startswith('"http://127.0.0.1')
