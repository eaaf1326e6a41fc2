"""``plano-asgi serve`` for real: a subprocess, every listener on its port, clean shutdown."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.support.servers import free_port

STARTUP_LIMIT = 30.0  # seconds; a cold import of every module on a slow runner
SHUTDOWN_LIMIT = 10.0


def config_text(agent_port: int, model_port: int) -> str:
    return f"""\
version: v0.3.0
agents:
  - id: helper
    url: http://127.0.0.1:9
model_providers:
  - model: openai/gpt-4o
    access_key: sk-test
    default: true
listeners:
  - type: agent
    name: front
    port: {agent_port}
    router: local_v1
    agents:
      - id: helper
        description: answers everything
        default: true
  - type: model
    name: gateway
    port: {model_port}
"""


@contextlib.contextmanager
def serving(path: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "plano_asgi", "serve", str(path), "--host", "127.0.0.1", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=SHUTDOWN_LIMIT)


def wait_healthy(proc: subprocess.Popen[str], ports: list[int]) -> dict[int, dict[str, str]]:
    """Poll ``/healthz`` on every port until each answers 200 (bounded)."""
    deadline = time.monotonic() + STARTUP_LIMIT
    answers: dict[int, dict[str, str]] = {}
    with httpx2.Client(timeout=1.0) as client:
        while len(answers) < len(ports):
            assert proc.poll() is None, f"serve exited early: {proc.communicate()[1]}"
            assert time.monotonic() < deadline, f"not healthy in time: {sorted(answers)}"
            for port in ports:
                if port in answers:
                    continue
                with contextlib.suppress(httpx2.TransportError):
                    response = client.get(f"http://127.0.0.1:{port}/healthz")
                    if response.status_code == 200:
                        answers[port] = response.json()
            time.sleep(0.05)
    return answers


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_serve_runs_every_listener_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    agent_port, model_port = free_port(), free_port()
    path = tmp_path / "plano_config.yaml"
    path.write_text(config_text(agent_port, model_port), encoding="utf-8")
    with serving(path) as proc:
        answers = wait_healthy(proc, [agent_port, model_port])
        assert answers == {
            agent_port: {"status": "ok", "listener": "front"},
            model_port: {"status": "ok", "listener": "gateway"},
        }
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=SHUTDOWN_LIMIT)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"agent listener 'front' on http://127.0.0.1:{agent_port}" in out
    assert f"model listener 'gateway' on http://127.0.0.1:{model_port}" in out
    for port in (agent_port, model_port):  # both ports are free again
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


@pytest.mark.integration
def test_serve_port_offset(tmp_path: Path) -> None:
    agent_port, model_port = free_port(), free_port()
    path = tmp_path / "plano_config.yaml"
    path.write_text(config_text(agent_port - 7, model_port - 7), encoding="utf-8")
    with serving(path, "--port-offset", "7") as proc:
        wait_healthy(proc, [agent_port, model_port])
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=SHUTDOWN_LIMIT)
    assert proc.returncode == 0


def free_port_from(start: int) -> int:
    """The first port at or above ``start`` that can be bound on 127.0.0.1 right now."""
    for port in range(start, 65536):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port from {start}")


@pytest.mark.integration
def test_serve_adds_the_model_listener_plano_adds(tmp_path: Path) -> None:
    # No model listener declared: Plano serves the providers on 12000 anyway. Shift every
    # port so that 12000 lands on a free one.
    offset = free_port_from(20000) - 12000
    agent_port = free_port_from(offset + 1024)
    text = config_text(agent_port - offset, 0).split("  - type: model")[0]
    path = tmp_path / "plano_config.yaml"
    path.write_text(text, encoding="utf-8")
    with serving(path, "--port-offset", str(offset)) as proc:
        answers = wait_healthy(proc, [agent_port, 12000 + offset])
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=SHUTDOWN_LIMIT)
    assert answers[12000 + offset] == {"status": "ok", "listener": "egress_traffic"}
    assert proc.returncode == 0
    assert (
        f"model listener 'egress_traffic' on http://127.0.0.1:{12000 + offset} "
        "(not declared; added as Plano does)"
    ) in out


@pytest.mark.integration
def test_serve_stops_everything_when_a_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = int(taken.getsockname()[1])
        path = tmp_path / "plano_config.yaml"
        path.write_text(config_text(free_port(), busy), encoding="utf-8")
        with serving(path) as proc:
            _, err = proc.communicate(timeout=STARTUP_LIMIT)
    assert proc.returncode == 1
    assert "Traceback" not in err
    assert "listener(s) gateway could not start; stopped all listeners" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "version: v0.3.0\nlisteners:\n  - type: model\n    name: m\n    port: x\n",
            "  - line 5: listeners[0].port: expected an integer, got a string",
            id="invalid-config",
        ),
        pytest.param(
            "version: v0.3.0\n"
            "agents:\n  - id: a\n    url: http://127.0.0.1:9\n"
            "listeners:\n  - type: agent\n    name: front\n"
            "    agents:\n      - id: a\n        description: d\n",
            "  - listeners[0].port: listener 'front' needs a port to be served",
            id="agent-listener-without-port",
        ),
        pytest.param("version: v0.3.0\nlisteners: []\n", "no listeners to serve", id="nothing"),
    ],
)
def test_serve_exits_2_on_a_config_it_cannot_serve(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "plano_config.yaml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "plano_asgi", "serve", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert any(line.endswith(expected) for line in result.stderr.splitlines())
