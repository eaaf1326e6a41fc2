"""LiteLLM's proxy as one more path of :mod:`bench.hotpath`, when it is installed.

Not a dependency of anything: ``bench.hotpath`` looks for the ``litellm`` command beside
the running Python and on ``PATH`` (``--litellm PATH`` names one in another environment,
``--litellm off`` skips it). The proxy serves the same fake provider under the same model
name, with no master key, no database and the model cost map it ships (no download), so it
runs offline like every other process of the bench.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["config_text", "find_cli", "proxy_command", "proxy_env", "version"]


def find_cli(choice: str) -> str | None:
    """The ``litellm`` command to run: ``choice`` itself, or found for ``auto``; ``None``: skip."""
    if choice == "off":
        return None
    if choice != "auto":
        return choice
    beside = Path(sys.executable).parent / "litellm"
    return str(beside) if beside.exists() else shutil.which("litellm")


def config_text(provider_port: int) -> str:
    """The proxy's config: ``gpt-4o-mini`` on the fake provider, as the gateway has it."""
    return f"""model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:{provider_port}/v1
      api_key: sk-bench
"""


def proxy_command(cli: str, config: Path, port: int) -> list[str]:
    return [cli, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]


def proxy_env() -> dict[str, str]:
    """Offline and keyless: the shipped cost map, and no master key (loopback only)."""
    return {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",
        "LITELLM_LOG": "ERROR",
    }


def version(cli: str) -> str:
    """The proxy's version as its environment reports it ("?" if it does not say)."""
    python = Path(cli).resolve().parent / "python"
    if not python.exists():
        return "?"
    probe = [str(python), "-c", "from importlib.metadata import version; print(version('litellm'))"]
    done = subprocess.run(probe, capture_output=True, text=True, check=False, timeout=30)
    return done.stdout.strip() or "?"
