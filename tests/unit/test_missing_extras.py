"""Without an optional extra, using its part is a MissingExtraError naming the extra to
install, and the command line says so in one line (never an ImportError traceback).

Each case runs in a fresh interpreter whose first meta-path finder refuses the extra's
modules, as if they were not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "quickstart" / "plano_config.yaml"

_BLOCKER = """
import importlib.abc, sys

class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in {blocked!r}):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
"""


def _run(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    script = _BLOCKER.format(blocked=blocked) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


_CATCH = """
from plano_asgi import MissingExtraError
try:
{call}
except MissingExtraError as exc:
    print(type(exc).__name__, exc.extra, isinstance(exc, ImportError))
    print(exc.message)
"""


@pytest.mark.parametrize(
    ("blocked", "call", "extra", "needed"),
    [
        pytest.param(
            ("uvicorn",), "import plano_asgi.serving", "server", "uvicorn", id="server-serving"
        ),
        pytest.param(
            ("opentelemetry.sdk", "opentelemetry.exporter"),
            "from plano_asgi.telemetry import setup_tracing\n"
            "setup_tracing(None, endpoint='http://127.0.0.1:9/v1/traces')",
            "otel",
            "opentelemetry.sdk",
            id="otel-setup-tracing",
        ),
        pytest.param(
            ("opentelemetry.exporter",),
            "from plano_asgi.telemetry import setup_tracing\n"
            "setup_tracing(None, endpoint='http://127.0.0.1:9/v1/traces')",
            "otel",
            "opentelemetry.exporter",
            id="otel-exporter",
        ),
        pytest.param(
            ("mcp",),
            "from plano_agent_sdk import filter_function, mcp_filter_server\n"
            "mcp_filter_server(filter_function(lambda body: body))",
            "mcp",
            "mcp",
            id="mcp-filter-server",
        ),
    ],
)
def test_a_missing_extra_is_a_plano_error_naming_it(
    blocked: tuple[str, ...], call: str, extra: str, needed: str
) -> None:
    done = _run(blocked, _CATCH.format(call=textwrap.indent(call, "    ")))
    assert done.returncode == 0, done.stderr
    kind, message = done.stdout.strip().splitlines()
    assert kind == f"MissingExtraError {extra} True"
    assert f"pip install 'plano-asgi[{extra}]'" in message
    assert needed in message


def test_agent_tools_without_mcp_names_the_extra() -> None:
    code = """
    import asyncio
    from plano_asgi import MissingExtraError
    from plano_agent_sdk import agent_tools

    async def main():
        async with agent_tools("http://127.0.0.1:9"):
            pass

    try:
        asyncio.run(main())
    except MissingExtraError as exc:
        print(exc.extra, exc.message)
    """
    done = _run(("mcp",), code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("mcp agent_tools() needs the mcp extra: ")


def test_serve_without_the_server_extra_says_which_extra_in_one_line() -> None:
    code = f"""
    import sys
    from plano_asgi.cli import main
    sys.exit(main(["serve", {str(CONFIG)!r}]))
    """
    done = _run(("uvicorn",), code)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "plano-asgi serve: serving listeners (plano-asgi serve) needs the server extra: "
        "pip install 'plano-asgi[server]' (uvicorn is not installed)"
    ]


def test_trace_without_the_otel_extra_says_which_extra_in_one_line() -> None:
    code = """
    import sys
    from plano_asgi.cli import main
    sys.exit(main(["trace", "--port", "0"]))
    """
    done = _run(("opentelemetry.proto",), code)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("plano-asgi trace: plano-asgi trace needs the otel extra: ")
    assert "pip install 'plano-asgi[otel]'" in line


def test_serving_a_traced_config_without_the_otel_extra_names_it(tmp_path: Path) -> None:
    shutil.copy(CONFIG.parent / "echo_agent.py", tmp_path)
    config = tmp_path / "plano_config.yaml"
    text = CONFIG.read_text()
    config.write_text(text + "\ntracing:\n  random_sampling: 100\n")
    code = f"""
    import sys
    from plano_asgi.cli import main
    sys.exit(main(["serve", {str(config)!r}, "--port-offset", "20000"]))
    """
    done = _run(("opentelemetry.sdk",), code)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("plano-asgi serve: exporting traces")
    assert "pip install 'plano-asgi[otel]'" in last
