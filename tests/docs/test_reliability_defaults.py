"""The README's table of defaults and caps ("Reliability") says what the code does.

Each row's value is computed here from the constant or default the code uses, so changing
one without the other fails this test.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from plano_asgi.config._base import HopTimeouts
from plano_asgi.config.models import AgentListener, ModelListener, Overrides
from plano_asgi.gateway.preferences import _MAX_INLINE_ROUTES
from plano_asgi.gateway.ratelimit import MemoryTokenLimiter
from plano_asgi.gateway.ratelimit_redis import RedisTokenLimiter
from plano_asgi.gateway.request_checks import MAX_MODEL_NAME_CHARS
from plano_asgi.gateway.retry import (
    DEFAULT_FAILOVER_BUDGET,
    DEFAULT_MAX_RETRIES,
    QUICK_RETRY_AFTER,
    RetryPolicy,
)
from plano_asgi.gateway.setup import _DEFAULT_MAX_BODY
from plano_asgi.gateway.upstream import MAX_ANSWER_BYTES
from plano_asgi.json_body import MAX_JSON_DEPTH
from plano_asgi.listener.reading import MAX_REPLY_BYTES
from plano_asgi.outbound.seam import MAX_READ_BYTES
from plano_asgi.serving import DEFAULT_HOST
from plano_asgi.telemetry import otlp
from plano_asgi.telemetry.receiver import MAX_BODY as OTLP_MAX_BODY

README = Path(__file__).resolve().parents[2] / "README.md"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _mib(size: int) -> str:
    assert size % 2**20 == 0, size
    return f"{size // 2**20} MiB"


def _default(cls: type, name: str) -> object:
    return inspect.signature(cls).parameters[name].default


def _table() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("**Defaults and caps.**", 1)[1]
    rows: dict[str, str] = {}
    for line in section.splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] not in ("Setting", "---"):
            rows[cells[0]] = cells[1]
    return rows


def _expected() -> dict[str, str]:
    policy = RetryPolicy()
    timeouts = HopTimeouts()
    model_body = ModelListener.model_fields["max_body_bytes"].default
    assert model_body == _DEFAULT_MAX_BODY  # a gateway without a listener: the same cap
    assert ModelListener.model_fields["failover_budget"].default is None  # -> the default
    assert ModelListener.model_fields["max_retries"].default is None
    assert Overrides.model_fields["upstream_connect_timeout"].default == timeouts.connect
    inflate = inspect.signature(otlp.decode_export).parameters["max_size"].default
    assert inflate == OTLP_MAX_BODY
    return {
        "retries per model": str(DEFAULT_MAX_RETRIES),
        "retry backoff": (
            f"{_seconds(policy.backoff_base)} doubling, at most {_seconds(policy.backoff_max)},"
            " jittered"
        ),
        "longest `Retry-After` waited for": _seconds(policy.max_retry_after),
        "`Retry-After` that moves on to the next target": f"over {_seconds(QUICK_RETRY_AFTER)}",
        "failover budget": _seconds(DEFAULT_FAILOVER_BUDGET),
        "provider `connect` timeout": _seconds(timeouts.connect),
        "`first_byte` timeout": _seconds(timeouts.first_byte),
        "`idle` timeout": _seconds(timeouts.idle),
        "agent reply `total`": _seconds(timeouts.total),
        "agent listener `timeout` (to the answer's first byte)": _seconds(
            AgentListener.model_fields["timeout"].default
        ),
        "model gateway request body": _mib(model_body),
        "agent listener request body": _mib(AgentListener.model_fields["max_body_bytes"].default),
        "nesting of a request body": f"{MAX_JSON_DEPTH} levels",
        "non-streamed agent reply": _mib(MAX_REPLY_BYTES),
        "non-streamed provider answer (larger: the next target)": _mib(MAX_ANSWER_BYTES),
        "filter and router model replies": _mib(MAX_READ_BYTES),
        "OTLP body of `plano-asgi trace`, gzip/deflate inflated": _mib(OTLP_MAX_BODY),
        "rate-limit buckets per process": f"{_default(MemoryTokenLimiter, 'max_buckets'):,}",
        "Redis limiter unreachable: tried again after": _seconds(
            _default(RedisTokenLimiter, "retry_interval")  # type: ignore[arg-type]
        ),
        "inline `routing_preferences` entries": str(_MAX_INLINE_ROUTES),
        "model name": f"{MAX_MODEL_NAME_CHARS} characters",
        "`plano-asgi serve` bind address": DEFAULT_HOST,
    }


def test_the_readme_table_of_defaults_matches_the_code() -> None:
    assert _table() == _expected()


def test_the_readme_failover_prose_matches_the_code() -> None:
    # The situation table states the same numbers in its own words.
    text = README.read_text(encoding="utf-8")
    section = text.split("### Reliability", 1)[1].split("\n### ", 1)[0]
    policy = RetryPolicy()
    backoff = f"{policy.backoff_base:g} s doubling, max {policy.backoff_max:g} s"
    assert backoff in section
    assert f"{DEFAULT_FAILOVER_BUDGET:g} s for a stream by default" in section
    assert f"{HopTimeouts().first_byte:g} s by default" in section
    assert re.search(rf"deeper than {MAX_JSON_DEPTH} levels", section)
