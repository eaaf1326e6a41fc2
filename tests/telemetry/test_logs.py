"""The per-request log line and header redaction."""

from __future__ import annotations

import logging

import pytest

from plano_asgi.telemetry.logs import (
    ACCESS_LOGGER,
    REDACTED,
    RequestLog,
    format_logfmt,
    log_request,
    redact_headers,
)

RECORD = RequestLog(
    request_id="req-1",
    listener="travel",
    method="POST",
    path="/v1/chat/completions",
    status=200,
    duration_ms=412.345,
    trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
    ttft_ms=120.0,
    agents=("weather", "flights"),
    router="local_v1",
)


def test_log_line_has_the_fields(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        line = log_request(RECORD)
    assert line == (
        "request_id=req-1 listener=travel method=POST path=/v1/chat/completions status=200 "
        "duration_ms=412.35 trace_id=4bf92f3577b34da6a3ce929d0e0e4736 ttft_ms=120.0 "
        "agents=weather,flights router=local_v1"
    )
    (logged,) = caplog.records
    assert logged.getMessage() == line
    assert logged.levelno == logging.INFO
    assert logged.plano["agents"] == "weather,flights"  # type: ignore[attr-defined]


def test_server_errors_log_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    failed = RequestLog("r", "l", "POST", "/", 502, 1.0, error="upstream_failed")
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        line = log_request(failed)
    assert caplog.records[0].levelno == logging.WARNING
    assert line.endswith("error=upstream_failed")


def test_log_record_has_no_place_for_text_or_secrets() -> None:
    fields = set(RequestLog.__dataclass_fields__)
    assert not fields & {"messages", "prompt", "content", "response", "headers", "body"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"a": "x"}, "a=x", id="plain"),
        pytest.param({"a": "two words"}, 'a="two words"', id="space"),
        pytest.param({"a": 'say "hi"'}, 'a="say \\"hi\\""', id="quote"),
        pytest.param({"a": "k=v"}, 'a="k=v"', id="equals"),
        pytest.param({"a": ""}, 'a=""', id="empty"),
        pytest.param({"a": True, "b": 3}, "a=true b=3", id="bool-int"),
        pytest.param({"a": "l1\nl2"}, 'a="l1\\nl2"', id="newline"),
    ],
)
def test_format_logfmt(fields: dict[str, object], expected: str) -> None:
    assert format_logfmt(fields) == expected


def test_redact_headers_hides_credentials() -> None:
    redacted = redact_headers(
        [
            (b"Authorization", b"Bearer sk-live-123"),
            (b"x-api-key", b"sk-ant-1"),
            (b"api-key", b"azure"),
            (b"cookie", b"session=1"),
            (b"proxy-authorization", b"Basic x"),
            (b"x-goog-api-key", b"g"),
            (b"x-session-token", b"t"),
            (b"x-request-id", b"req-1"),
            (b"accept", b"a"),
            (b"accept", b"b"),
        ]
    )
    assert redacted == {
        "authorization": REDACTED,
        "x-api-key": REDACTED,
        "api-key": REDACTED,
        "cookie": REDACTED,
        "proxy-authorization": REDACTED,
        "x-goog-api-key": REDACTED,
        "x-session-token": REDACTED,
        "x-request-id": "req-1",
        "accept": "a, b",
    }
    assert "sk-" not in repr(redacted)


def test_redact_headers_accepts_a_mapping() -> None:
    assert redact_headers({"API-Key": "k", "Host": "h"}) == {"api-key": REDACTED, "host": "h"}
