"""Custom span attributes from ``tracing.span_attributes`` (spec §5.4)."""

from __future__ import annotations

import pytest

from plano_asgi.config.models import SpanAttributes
from plano_asgi.telemetry.attributes import custom_attributes

CONFIG = SpanAttributes(
    header_prefixes=("x-katanemo-", "X-Team"),
    static={"env": "prod", "tenant.id": "static"},
)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({}, {"env": "prod", "tenant.id": "static"}, id="static-only"),
        pytest.param(
            {"x-katanemo-tenant-id": " acme "},
            {"env": "prod", "tenant.id": "acme"},
            id="header-overrides-static-and-is-trimmed",
        ),
        pytest.param(
            {"X-Katanemo-User-Session-Id": "s1"},
            {"env": "prod", "tenant.id": "static", "user.session.id": "s1"},
            id="case-insensitive-dashes-to-dots",
        ),
        pytest.param(
            {"x-team--lead": "kim"},
            {"env": "prod", "tenant.id": "static", "lead": "kim"},
            id="leading-dashes-trimmed-second-prefix",
        ),
        pytest.param(
            {"x-katanemo-": "ignored", "x-katanemo---": "ignored"},
            {"env": "prod", "tenant.id": "static"},
            id="empty-suffix-ignored",
        ),
        pytest.param(
            {"authorization": "Bearer sk-1", "x-other-env": "dev"},
            {"env": "prod", "tenant.id": "static"},
            id="non-matching-headers-ignored",
        ),
    ],
)
def test_custom_attributes_table(headers: dict[str, str], expected: dict[str, str]) -> None:
    assert custom_attributes(CONFIG, headers) == expected


def test_custom_attributes_reads_asgi_raw_headers() -> None:
    raw = [(b"x-katanemo-region", b"eu-west"), (b"content-type", b"application/json")]
    assert custom_attributes(CONFIG, raw)["region"] == "eu-west"


def test_custom_attributes_without_config_is_empty() -> None:
    assert custom_attributes(None, {"x-katanemo-a": "b"}) == {}


def test_custom_attributes_static_only_when_no_prefixes() -> None:
    config = SpanAttributes(static={"k": "v"})
    assert custom_attributes(config, {"x-katanemo-a": "b"}) == {"k": "v"}
