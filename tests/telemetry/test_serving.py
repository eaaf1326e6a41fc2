"""``serve``'s observability: a log handler for the access lines, tracing shut down on exit."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from plano_asgi.config import PlanoConfig
from plano_asgi.serving import observability
from plano_asgi.telemetry.logs import RequestLog, configure_logging, log_request
from plano_asgi.telemetry.setup import TracingHandle

NAMES = ("plano_asgi", "plano_agent_sdk")


@pytest.fixture
def restore_loggers() -> Iterator[None]:
    saved = {}
    for name in NAMES:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate, list(logger.handlers))
    yield
    for name, (level, propagate, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.handlers[:] = handlers


def config(tracing: dict[str, Any] | None = None) -> PlanoConfig:
    data: dict[str, Any] = {
        "version": "v0.4.0",
        "agents": [{"id": "a", "url": "http://127.0.0.1:9"}],
        "listeners": [
            {
                "type": "agent",
                "name": "l",
                "port": 8001,
                "agents": [{"id": "a", "description": "A"}],
            }
        ],
    }
    if tracing is not None:
        data["tracing"] = tracing
    return PlanoConfig.from_dict(data)


def test_access_lines_print_once_configured(restore_loggers: None) -> None:
    out = io.StringIO()
    configure_logging("info", stream=out)
    configure_logging("info", stream=out)  # a second call replaces, never duplicates
    record = RequestLog("r1", "travel", "POST", "/v1/chat/completions", 200, 12.5)
    log_request(record)
    logging.getLogger("plano_asgi.listener").debug("not at info")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(
        "INFO plano_asgi.access request_id=r1 listener=travel method=POST "
        "path=/v1/chat/completions status=200 duration_ms=12.5"
    )


def test_unknown_level_is_refused(restore_loggers: None) -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("chatty")


def test_observability_installs_from_the_config_and_shuts_down_on_exit(
    monkeypatch: pytest.MonkeyPatch, restore_loggers: None
) -> None:
    calls: list[tuple[str, object]] = []

    class Handle:
        enabled = True

        def shutdown(self) -> None:
            calls.append(("shutdown", None))

    def fake_setup(cfg: PlanoConfig, *, endpoint: str | None = None) -> Handle:
        calls.append(("setup", (cfg.tracing.random_sampling if cfg.tracing else None, endpoint)))
        return Handle()

    monkeypatch.setattr("plano_asgi.telemetry.setup.setup_tracing", fake_setup)
    cfg = config({"random_sampling": 25})
    with pytest.raises(RuntimeError), observability(cfg, endpoint="http://collector:4318"):
        raise RuntimeError("server crashed")
    assert calls == [("setup", (25, "http://collector:4318")), ("shutdown", None)]
    assert any(
        isinstance(h, logging.StreamHandler) for h in logging.getLogger("plano_asgi").handlers
    )


def test_observability_with_sampling_zero_installs_nothing(restore_loggers: None) -> None:
    with observability(config({"random_sampling": 0}), configure_logs=False) as handle:
        assert isinstance(handle, TracingHandle)
        assert not handle.enabled
