"""The request-id rule every hop shares."""

from __future__ import annotations

import uuid

import pytest

from plano_asgi._asgi import sane_request_id


@pytest.mark.parametrize(
    "value",
    ["req-1", "6f1c2e9a-1b7d-4c1e-9f0a-3d2b1c0e9a8b", "trip.42:a/b+c=d", " padded ", "a" * 128],
)
def test_sane_ids_are_kept(value: str) -> None:
    assert sane_request_id(value) == value.strip()


@pytest.mark.parametrize(
    "value",
    [None, "", "bad id; with spaces", "-leading-dash", "a" * 129, "new\nline", "x@y", "é"],
)
def test_other_ids_are_replaced_by_a_uuid4(value: str | None) -> None:
    replaced = sane_request_id(value)
    assert uuid.UUID(replaced).version == 4
