"""``plano-asgi serve --workers N`` for real: processes sharing the ports, a worker that dies
started again, a clean stop, and a rate limit that holds across workers through Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.support.redis_server import RedisServer
from tests.support.servers import free_port

STARTUP_LIMIT = 45.0  # two cold imports of every module on a slow runner
SHUTDOWN_LIMIT = 20.0

PID_AGENT = """\
import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def chat(request):
    return JSONResponse({
        "id": "c", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": str(os.getpid())}}],
    })


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
"""


def _write(tmp_path: Path, agent_port: int, extra: str = "") -> Path:
    (tmp_path / "pidagent.py").write_text(PID_AGENT, encoding="utf-8")
    path = tmp_path / "plano_config.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            version: v0.3.0
            agents:
              - id: pid
                app: "pidagent:app"
            listeners:
              - type: agent
                name: front
                port: {agent_port}
                agents:
                  - id: pid
                    description: answers with its process id
            """
        )
        + extra,
        encoding="utf-8",
    )
    return path


@contextlib.contextmanager
def serving(
    path: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "plano_asgi", "serve", str(path), "--host", "127.0.0.1", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=SHUTDOWN_LIMIT)


def ask_pid(port: int) -> int | None:
    """One turn on a fresh connection (so any worker may take it); the answering pid."""
    with contextlib.suppress(httpx2.TransportError):
        with httpx2.Client(timeout=5.0) as client:
            reply = client.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "who are you?"}]},
            )
            if reply.status_code == 200:
                return int(reply.json()["choices"][0]["message"]["content"])
    return None


def pids_seen(proc: subprocess.Popen[str], port: int, want: int, limit: float) -> set[int]:
    """Ask until ``want`` distinct workers answered (bounded by ``limit`` seconds)."""
    seen: set[int] = set()
    deadline = time.monotonic() + limit
    while len(seen) < want and time.monotonic() < deadline:
        assert proc.poll() is None, f"serve exited early: {proc.communicate()[1]}"
        pid = ask_pid(port)
        if pid is None:
            time.sleep(0.1)
        else:
            seen.add(pid)
    return seen


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.integration
def test_two_workers_share_the_port_restart_a_dead_one_and_stop_cleanly(tmp_path: Path) -> None:
    port = free_port()
    with serving(_write(tmp_path, port), "--workers", "2") as proc:
        first = pids_seen(proc, port, 2, STARTUP_LIMIT)
        assert len(first) == 2
        assert os.getpid() not in first
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        # The parent starts a new worker; the survivor keeps answering meanwhile.
        deadline = time.monotonic() + STARTUP_LIMIT
        now: set[int] = set()
        while time.monotonic() < deadline and not (now - first):
            pid = ask_pid(port)
            if pid is not None:
                now.add(pid)
        assert victim not in now
        assert now - first, "no new worker answered after one was killed"
        workers = (first - {victim}) | now
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=SHUTDOWN_LIMIT)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"agent listener 'front' on http://127.0.0.1:{port}" in out
    assert "2 workers" in out
    assert not any(alive(pid) for pid in workers)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("args", "message"),
    [(["--workers", "0"], "at least 1"), (["--workers", "2", "--chat"], "one worker")],
)
def test_bad_worker_counts_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    with serving(_write(tmp_path, free_port()), *args) as proc:
        _, err = proc.communicate(timeout=STARTUP_LIMIT)
    assert proc.returncode == 2
    assert message in err


@pytest.mark.integration
def test_a_taken_port_fails_before_any_worker_starts(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with serving(_write(tmp_path, port), "--workers", "2") as proc:
            _, err = proc.communicate(timeout=STARTUP_LIMIT)
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err


PROVIDER = """\
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def chat(request):
    return JSONResponse({
        "id": "c", "object": "chat.completion", "created": 0, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "ok"}}],
    })


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
"""


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A database of its own on the session's server: no other test's buckets in it."""
    return redis_server.url.rsplit("/", 1)[0] + "/3"


@pytest.mark.integration
def test_a_rate_limit_holds_across_workers_through_redis(tmp_path: Path, redis_url: str) -> None:
    agent_port, model_port, provider_port = free_port(), free_port(), free_port()
    (tmp_path / "provider.py").write_text(PROVIDER, encoding="utf-8")
    extra = textwrap.dedent(
        f"""\
          - type: model
            name: llm
            port: {model_port}
        model_providers:
          - model: openai/gpt-4o
            base_url: http://127.0.0.1:{provider_port}
            access_key: sk-test
        ratelimits:
          - model: openai/gpt-4o
            selector: {{key: x-user, value: "*"}}
            limit: {{tokens: 100, unit: hour}}
        """
    )
    path = _write(tmp_path, agent_port, extra)
    provider = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "provider:app", "--port", str(provider_port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        env = {"PLANO_RATELIMIT_REDIS_URL": redis_url}
        with serving(path, "--workers", "2", env=env) as proc:
            assert len(pids_seen(proc, agent_port, 2, STARTUP_LIMIT)) == 2
            statuses = []
            for _ in range(30):  # a fresh connection each: both workers take some
                with httpx2.Client(timeout=5.0) as client:
                    reply = client.post(
                        f"http://127.0.0.1:{model_port}/v1/chat/completions",
                        headers={"x-user": "alice"},
                        json={
                            "model": "gpt-4o",
                            "messages": [{"role": "user", "content": "x" * 80}],
                        },
                    )
                statuses.append(reply.status_code)
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=SHUTDOWN_LIMIT)
    finally:
        provider.terminate()
        provider.wait(timeout=10)
    allowed = statuses.count(200)
    # One budget for both workers: each request is estimated at 20+ tokens of 100.
    assert 1 <= allowed <= 5
    assert statuses.count(429) == 30 - allowed
