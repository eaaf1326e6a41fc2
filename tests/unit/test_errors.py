"""Every error renders the OpenAI envelope with the right status and no secrets."""

from __future__ import annotations

from plano_asgi.errors import (
    ConfigError,
    ConfigIssue,
    FilterRejectedError,
    ModelNotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    UpstreamError,
    UpstreamTimeoutError,
)


def test_upstream_errors_name_the_hop() -> None:
    error = UpstreamError("Agent 'a' answered 500.", hop="agent", target="a", upstream_status=500)
    assert error.status_code == 502
    assert error.to_dict() == {
        "error": {
            "message": "Agent 'a' answered 500.",
            "type": "upstream_error",
            "code": "upstream_failed",
            "param": None,
            "hop": "agent",
            "target": "a",
            "upstream_status": 500,
        }
    }
    timeout = UpstreamTimeoutError("slow", hop="filter", target="f")
    assert timeout.status_code == 504
    assert timeout.to_dict()["error"]["code"] == "upstream_timeout"


def test_filter_rejection_keeps_filter_status() -> None:
    error = FilterRejectedError("guard", 403, "off topic")
    assert error.status_code == 403
    assert error.to_dict()["error"]["filter"] == "guard"
    assert error.to_dict()["error"]["message"] == "Filter 'guard' rejected the request: off topic"


def test_request_errors() -> None:
    assert PayloadTooLargeError(10).status_code == 413
    missing = ModelNotFoundError("gpt-9", ["a", "b"])
    assert missing.status_code == 404
    assert missing.to_dict()["error"]["message"] == (
        "The model 'gpt-9' is not configured. Available models: a, b."
    )
    limited = RateLimitedError("slow down", retry_after=1.2, limit=100, remaining=0, reset=1.2)
    assert limited.status_code == 429
    assert limited.headers()["retry-after"] == "2"
    assert limited.headers()["x-ratelimit-limit-tokens"] == "100"


def test_config_error_lists_every_issue() -> None:
    error = ConfigError(
        [ConfigIssue("listeners[0].agents[1].id", "unknown agent 'x'", 12), ConfigIssue("", "bad")],
        source="c.yaml",
    )
    assert isinstance(error, ValueError)
    assert error.message.splitlines() == [
        "c.yaml: 2 problems in the configuration:",
        "  - line 12: listeners[0].agents[1].id: unknown agent 'x'",
        "  - <root>: bad",
    ]
