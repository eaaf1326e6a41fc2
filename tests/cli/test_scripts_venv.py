"""``scripts/_venv.sh``: which extras each script installs, and when it installs again.

The real script runs in a copy of the repository's layout whose ``.venv/bin/python`` is a
small recorder (a real install takes half a minute and needs the package index): every
``pip install`` the script asks for is written to a log, which is what is checked here. The
full first run is measured by hand and noted in the README ("Two commands").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RECORDER = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/../pip.log"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "_venv.sh", tmp_path / "scripts" / "_venv.sh")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text(RECORDER)
    python.chmod(0o755)
    (bin_dir / "activate").write_text("VIRTUAL_ENV_ACTIVATED=1\n")
    return tmp_path


def source(project: Path, extras: str) -> list[str]:
    """Source the script for ``extras``; the ``-e`` installs it asked for since last time."""
    log = project / ".venv" / "pip.log"
    log.unlink(missing_ok=True)
    done = subprocess.run(
        ["bash", "-c", f'source scripts/_venv.sh {extras} && echo "$VIRTUAL_ENV_ACTIVATED"'],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "PYTHON": "false"},  # creating a venv would fail: there is one
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"  # activated
    lines = log.read_text().splitlines() if log.exists() else []
    return [line.split(" -e ", 1)[1] for line in lines if " -e " in line]


def test_travel_installs_the_runtime_then_test_adds_the_dev_tools(project: Path) -> None:
    assert source(project, "router,server,otel") == [".[router,server,otel]"]
    assert source(project, "router,server,otel") == []  # later runs install nothing
    assert source(project, "dev") == [".[dev]"]
    assert source(project, "dev") == []
    assert source(project, "router,server,otel") == []  # .[dev] holds every extra


def test_test_first_then_travel_installs_nothing(project: Path) -> None:
    assert source(project, "dev") == [".[dev]"]
    assert source(project, "router,server,otel") == []


def test_a_newer_pyproject_installs_again(project: Path) -> None:
    assert source(project, "router,server,otel") == [".[router,server,otel]"]
    stamp = project / ".venv" / ".plano-installed-router,server,otel"
    os.utime(stamp, (stamp.stat().st_mtime - 10,) * 2)
    assert source(project, "router,server,otel") == [".[router,server,otel]"]


def test_the_scripts_ask_for_their_extras() -> None:
    travel = (ROOT / "scripts" / "travel").read_text()
    check = (ROOT / "scripts" / "test").read_text()
    assert 'source "$(dirname "$0")/_venv.sh" router,server,otel' in travel
    assert 'source "$(dirname "$0")/_venv.sh" dev' in check


def test_the_extras_the_scripts_ask_for_exist_and_dev_holds_every_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert {"server", "otel", "router"} <= set(extras)  # what scripts/travel installs
    others = set(extras) - {"all", "dev"}
    (everything,) = extras["all"]
    assert everything.startswith("plano-asgi[")
    assert set(everything.removeprefix("plano-asgi[").rstrip("]").split(",")) == others
    assert "plano-asgi[all]" in extras["dev"]  # so `test` then `travel` installs nothing
