"""Fixtures for the router tests: the embedded model loads once per test session."""

from __future__ import annotations

import pytest

from plano_asgi.routing.local import LocalRouter, MiniLMEncoder


@pytest.fixture(scope="session")
def minilm() -> MiniLMEncoder:
    """The pinned all-MiniLM-L6-v2 encoder, loaded."""
    encoder = MiniLMEncoder()
    encoder.load()
    return encoder


@pytest.fixture
def local_router(minilm: MiniLMEncoder) -> LocalRouter:
    """A fresh router (empty caches) over the shared, already loaded encoder."""
    return LocalRouter(encoder=minilm)
