"""Every code block in README.md that is meant to run, run as written.

The convention (README.md, "Development", says the same):

* A fenced block is tested according to its info string:

  - ``python``: run with this interpreter in a fresh folder that holds a copy of the travel
    config as ``plano_config.yaml`` (the file most snippets name), with the repository on
    ``PYTHONPATH``, no proxy, and every ``$..._API_KEY`` the README names set to "" (keyless,
    so nothing can call a real provider). Top-level ``await`` / ``async with`` work, as in
    ``python -m asyncio``. It must exit 0.
  - ``yaml`` / ``json``: parsed; they must be valid.
  - ``bash`` / ``sh`` / ``console``: shell commands can install packages or run forever, so
    these always carry a directive (below): ``run``, ``travel``, ``quickstart`` or
    ``skip: WHY``. Without one the first test fails, and nothing is run.
  - ``text`` and blocks without an info string are output or layout, never run.

* An HTML comment on the line just above the fence (blank lines between are allowed):

  - ``<!-- readme-test: skip: WHY -->``: not run; say why (it installs, it is interactive,
    it serves until Ctrl-C, it needs a key or a file that is not in the repository).
  - ``<!-- readme-test: run -->`` on a shell block: ``bash``/``sh`` run with
    ``bash -euo pipefail`` from the repository root and must exit 0; in a ``console``
    block each ``$ command`` line runs from the repository root and must exit 0, and the
    lines under it are its output: each must match a line of the real output, in order
    (``…`` stands for any text).
  - ``<!-- readme-test: file NAME -->``: also saved as NAME in the folder where the later
    python blocks run, so a later block can import it (``weather.py`` for its test).
  - ``<!-- readme-test: pytest -->``: a python block that is a test module: run with
    ``pytest`` instead of ``python``.
  - ``<!-- readme-test: travel -->``: run while the travel assistant serves (keyless and
    offline), with ``127.0.0.1:8001`` and ``127.0.0.1:12000`` in the block moved to the
    ports it actually uses.
  - ``<!-- readme-test: quickstart -->``: the same, while the quickstart serves
    (``plano-asgi serve examples/quickstart/plano_config.yaml``, its listener on 8001).

Any other info string or directive fails the test, so a new block is either tested or
says why not.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import yaml

from tests.support.servers import bindable, free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TRAVEL_CONFIG = ROOT / "examples" / "travel" / "plano_config.yaml"
RUN_LIMIT = 120.0  # seconds per block: a cold start imports everything and loads the router
TRAVEL_PORTS = (8001, 12000)
SERVED = {
    "travel": (TRAVEL_CONFIG, TRAVEL_PORTS),
    "quickstart": (ROOT / "examples" / "quickstart" / "plano_config.yaml", (8001,)),
}
"""The directives that run a block while a config serves: its file and its ports."""

_FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"^<!--\s*readme-test:\s*(?P<what>.*?)\s*-->$")
_SHELL = {"bash", "sh", "console"}
_RUN = {"python", "yaml", "json", *_SHELL}
_NEVER = {"text", ""}


@dataclass(frozen=True)
class Block:
    line: int
    """1-based line of the opening fence."""
    info: str
    code: str
    directive: str | None

    @property
    def id(self) -> str:
        return f"line{self.line}-{self.info or 'plain'}"


def blocks(text: str) -> list[Block]:
    """Every fenced block of ``text`` with the directive above it (if any)."""
    lines = text.splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        start, indent = index, len(match["indent"])
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            body.append(lines[index][indent:])
            index += 1
        directive = None
        above = start - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        if above >= 0:
            comment = _DIRECTIVE.match(lines[above].strip())
            if comment is not None:
                directive = comment["what"]
        found.append(Block(start + 1, match["info"].strip(), "\n".join(body) + "\n", directive))
        index += 1
    return found


ALL = blocks(README.read_text(encoding="utf-8"))
CHECKED = [
    b
    for b in ALL
    if b.info in _RUN
    and not (b.directive or "").startswith("skip")
    and (b.info not in _SHELL or b.directive in ("run", *SERVED))
]


# Runs a python block from stdin; top-level await as in ``python -m asyncio``.
_PYTHON_RUNNER = """
import ast, asyncio, inspect, sys
code = compile(sys.stdin.read(), "<README block>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
result = eval(code, {"__name__": "__main__"})
if inspect.iscoroutine(result):
    asyncio.run(result)
"""


def snippet_env(folder: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_API_KEY", "_PROXY", "_proxy"))
        and not key.startswith(("PLANO_", "OTEL_", "LLM_GATEWAY", "AEROAPI", "TRAVEL_"))
    }
    for name in re.findall(r"\$\{?([A-Z][A-Z0-9_]*_API_KEY)\b", README.read_text()):
        env[name] = ""
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(ROOT)])
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["OTEL_SDK_DISABLED"] = "true"
    env["TRAVEL_USE_LLM"] = "0"
    dead = f"http://127.0.0.1:{free_port()}"  # the web APIs: offline answers, never the internet
    env["OPEN_METEO_GEOCODING_URL"] = f"{dead}/v1/search"
    env["OPEN_METEO_FORECAST_URL"] = f"{dead}/v1/forecast"
    env["AEROAPI_BASE_URL"] = dead
    return env


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where python blocks run: the travel config, and the files blocks saved (in order)."""
    path = tmp_path_factory.mktemp("readme")
    shutil.copy(TRAVEL_CONFIG, path / "plano_config.yaml")
    for block in ALL:
        if block.directive and block.directive.startswith("file "):
            (path / block.directive.removeprefix("file ").strip()).write_text(block.code)
    return path


@pytest.fixture(scope="module")
def travel(folder: Path) -> Iterator[int]:
    """The travel assistant served keyless and offline; yields the port offset."""
    with _serving(TRAVEL_CONFIG, TRAVEL_PORTS, snippet_env(folder)) as offset:
        yield offset


@pytest.fixture(scope="module")
def quickstart(folder: Path) -> Iterator[int]:
    """The quickstart served as its README section says; yields the port offset."""
    config, ports = SERVED["quickstart"]
    with _serving(config, ports, snippet_env(folder)) as offset:
        yield offset


@contextlib.contextmanager
def _serving(config: Path, ports: tuple[int, ...], env: dict[str, str]) -> Iterator[int]:
    """``plano-asgi serve config`` on free ports until the block ends; yields the offset."""
    offset = _free_offset(ports)
    command = [sys.executable, "-m", "plano_asgi", "serve", str(config)]
    command += ["--host", "127.0.0.1", "--port-offset", str(offset)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + RUN_LIMIT
        with httpx2.Client(timeout=1.0, trust_env=False) as client:
            for port in ports:
                while True:
                    assert process.poll() is None, process.communicate()[1]
                    assert time.monotonic() < deadline, f"{config} did not start"
                    with contextlib.suppress(httpx2.TransportError):
                        if client.get(f"http://127.0.0.1:{port + offset}/healthz").is_success:
                            break
                    time.sleep(0.1)
        yield offset
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def _free_offset(ports: tuple[int, ...]) -> int:
    for _ in range(50):
        offset = free_port() - ports[0]
        if all(0 < port + offset < 65536 and bindable(port + offset) for port in ports):
            return offset
    raise AssertionError(f"no free port offset for ports {ports}")


def run(command: list[str], *, cwd: Path, env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT,
        check=False,
    )
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def check_console(code: str, env: dict[str, str]) -> None:
    steps: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif line.strip() and steps:
            steps[-1][1].append(line)
    assert steps, "a console block needs at least one '$ command' line"
    for command, expected in steps:
        actual = run(["bash", "-euo", "pipefail", "-c", command], cwd=ROOT, env=env).splitlines()
        position = 0
        for want in expected:
            pattern = re.compile(".*".join(re.escape(part) for part in want.split("…")))
            while position < len(actual) and not pattern.fullmatch(actual[position]):
                position += 1
            assert position < len(actual), f"`{command}` did not print {want!r}:\n{actual}"
            position += 1


def test_readme_has_blocks_and_every_one_follows_the_convention() -> None:
    assert len(CHECKED) >= 10
    problems = []
    for block in ALL:
        if block.info not in _RUN | _NEVER:
            problems.append(f"line {block.line}: unknown info string {block.info!r}")
        what = block.directive
        shell_ok = what is not None and what.startswith(("run", "skip", *SERVED))
        if block.info in _SHELL and not shell_ok:
            problems.append(f"line {block.line}: a {block.info} block needs run or skip: WHY")
        if what is None or what in ("pytest", "run", *SERVED) or what.startswith("file "):
            continue
        if not re.fullmatch(r"skip: \S.*", what):
            problems.append(f"line {block.line}: unknown directive {what!r} (skip: WHY?)")
    assert problems == []


@pytest.mark.integration
@pytest.mark.parametrize("block", CHECKED, ids=[b.id for b in CHECKED])
def test_readme_block_runs(block: Block, folder: Path, request: pytest.FixtureRequest) -> None:
    code = block.code
    if block.directive in SERVED:
        offset: int = request.getfixturevalue(block.directive)
        for port in SERVED[block.directive][1]:
            code = code.replace(f"127.0.0.1:{port}", f"127.0.0.1:{port + offset}")
    env = snippet_env(folder)
    if block.info == "yaml":
        assert list(yaml.safe_load_all(code)) != [None]
    elif block.info == "json":
        json.loads(code)
    elif block.info == "console":
        check_console(code, env)
    elif block.info in ("bash", "sh"):
        run(["bash", "-euo", "pipefail", "-c", code], cwd=ROOT, env=env)
    elif block.directive == "pytest":
        (folder / f"test_readme_{block.line}.py").write_text(code)
        run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", "."]
            + [f"test_readme_{block.line}.py"],
            cwd=folder,
            env=env,
        )
    else:
        run([sys.executable, "-c", _PYTHON_RUNNER], cwd=folder, env=env, stdin=code)
