"""The public surface: sorted ``__all__`` equal to the public names, every error exported."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import plano_asgi
from plano_asgi.errors import PlanoError

PACKAGES = ["plano_asgi", "plano_agent_sdk"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted(name: str) -> None:
    module = importlib.import_module(name)
    assert list(module.__all__) == sorted(module.__all__)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_matches_public_names(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_") and not inspect.ismodule(value) and attr != "annotations"
    }
    assert set(module.__all__) == public


def _subclasses(cls: type) -> set[type]:
    out: set[type] = set()
    sub: type
    for sub in cls.__subclasses__():
        out.add(sub)
        out |= _subclasses(sub)
    return out


def _import_everything() -> None:
    """Import every submodule, so every error class defined anywhere is registered."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)


def test_every_plano_error_is_exported() -> None:
    _import_everything()
    exported = {getattr(plano_asgi, n) for n in plano_asgi.__all__}
    sdk = importlib.import_module("plano_agent_sdk")
    exported |= {getattr(sdk, n) for n in sdk.__all__}
    missing = {cls.__name__ for cls in _subclasses(PlanoError) if cls not in exported}
    assert PlanoError in exported
    assert missing == set()


def test_plano_asgi_never_imports_the_sdk() -> None:
    code = (
        "import sys, plano_asgi; print(any(m.startswith('plano_agent_sdk') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_importing_the_packages_loads_no_optional_extra() -> None:
    code = (
        "import sys, plano_asgi, plano_agent_sdk; "
        "heavy = ('numpy', 'onnxruntime', 'tokenizers', 'mcp', 'opentelemetry.sdk', 'redis'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
