"""``plano-asgi validate``: exit 0 with a summary, exit 2 with the full report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from plano_asgi.cli import main

ROOT = Path(__file__).resolve().parents[2]
TRAVEL = ROOT / "examples" / "travel" / "plano_config.yaml"

VALID = """\
version: v0.4.0
agents:
  - id: weather
    url: http://127.0.0.1:10510
filters:
  - id: guard
    url: http://127.0.0.1:10500
    type: http
listeners:
  - type: agent
    name: travel
    port: 8001
    router: local_v1
    input_filters: [guard]
    agents:
      - id: weather
        description: weather questions
        default: true
  - type: model
    name: gateway
    port: 12000
model_providers:
  - model: openai/gpt-4o
    access_key: $OPENAI_API_KEY
    default: true
model_aliases:
  smart:
    target: gpt-4o
routing_preferences:
  - name: code
    description: writing code
    models: [openai/gpt-4o]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plano_config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_prints_a_summary_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    path = write(tmp_path, VALID)
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        f"{path.resolve()}: valid (version v0.4.0)",
        "  agent listener travel :8001 router=local_v1 agents: weather (default)"
        " filters in: guard out: -",
        "  model listener gateway :12000",
        "  agents: weather",
        "  filters: guard (http)",
        "  model providers: openai/gpt-4o (default)",
        "  model aliases: smart",
        "  routing preferences: code",
    ]


def test_validate_exits_2_with_the_full_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    path = write(tmp_path, VALID.replace("id: weather\n        desc", "id: wether\n        desc"))
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}: 2 problems in the configuration:",
        "  - line 16: listeners[0].agents[0].id: unknown agent 'wether' (did you mean "
        "'weather'?); declared agents: weather",
        "  - line 24: model_providers[0].access_key: environment variable 'OPENAI_API_KEY' is "
        "not set; set it, give a default ('${OPENAI_API_KEY:-value}'), or validate with "
        "--allow-missing-env",
    ]


def test_validate_allow_missing_env(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    path = write(tmp_path, VALID)
    assert main(["validate", str(path), "--allow-missing-env"]) == 0
    assert "valid (version v0.4.0)" in capsys.readouterr().out


def test_validate_prints_warnings_in_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "version: v0.1\n"
        "listeners:\n"
        "  egress_traffic:\n"
        "    port: 12000\n"
        "llm_providers:\n"
        "  - model: openai/gpt-4o\n",
    )
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  model listener egress_traffic :12000" in out
    assert "  warning: line 2: listeners: deprecated object form;" in out
    assert "  warning: line 5: llm_providers: deprecated name;" in out


@pytest.mark.parametrize("with_key", [True, False], ids=["key-set", "key-unset"])
def test_validate_travel_example(
    with_key: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if with_key:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        argv = ["validate", str(TRAVEL)]
    else:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        argv = ["validate", str(TRAVEL), "--allow-missing-env"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "agent listener travel_booking_service :8001" in out
    assert "agents: weather_agent, flight_agent" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "version: v0.3.0\nlisteners:\n  - type: model\n   name: m\n",
            "line 4: <root>: not valid YAML:",
            id="yaml-syntax",
        ),
        pytest.param("", "<root>: the config is empty", id="empty"),
        pytest.param("- a\n", "line 1: <root>: the config must be a mapping", id="list"),
    ],
)
def test_validate_subprocess_never_prints_a_traceback(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    result = subprocess.run(
        [sys.executable, "-m", "plano_asgi", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert f"  - {expected}" in result.stderr


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read the file: No such file or directory" in capsys.readouterr().err


def test_validate_finds_the_config_like_planoai_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLANO_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 2
    assert "no config file: name one, set PLANO_CONFIG" in capsys.readouterr().err
    (tmp_path / "plano_config.yaml").write_text("version: v0.3.0\nlisteners: []\n")
    (tmp_path / "config.yaml").write_text("version: v0.4.0\nlisteners: []\n")
    assert main(["validate"]) == 0
    assert "valid (version v0.4.0)" in capsys.readouterr().out  # config.yaml comes first
    monkeypatch.setenv("PLANO_CONFIG", str(tmp_path / "plano_config.yaml"))
    assert main(["validate"]) == 0
    assert "valid (version v0.3.0)" in capsys.readouterr().out


def test_validate_reports_a_bad_plano_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANO_LOG_LEVEL", "chatty")
    assert main(["validate", str(write(tmp_path, VALID))]) == 2
    assert "environment variable PLANO_LOG_LEVEL: " in capsys.readouterr().err


def test_validate_shows_the_model_listener_serve_adds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID.split("  - type: model")[0] + VALID.split("    port: 12000\n")[1]
    assert main(["validate", str(write(tmp_path, text)), "--allow-missing-env"]) == 0
    out = capsys.readouterr().out
    assert (
        "  model listener egress_traffic :12000 (not declared; 'serve' adds it as Plano does)"
        in out
    )
