"""The public surface: sorted ``__all__`` equal to the public names, every error exported.

The package roots export lazily (:mod:`plano_asgi._lazy`); ``dir()`` lists every export, and
each one resolves to the object it names (never a submodule of the same name).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import plano_asgi
from plano_asgi.errors import PlanoError

PACKAGES = ["plano_asgi", "plano_agent_sdk"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted(name: str) -> None:
    module = importlib.import_module(name)
    assert list(module.__all__) == sorted(module.__all__)


LAZY_ROOTS = [*PACKAGES, "plano_asgi.config", "plano_asgi.telemetry", "plano_asgi.agent_tools"]


@pytest.mark.parametrize("name", LAZY_ROOTS)
def test_all_matches_public_names(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        attr
        for attr in dir(module)
        if not attr.startswith("_")
        and not inspect.ismodule(getattr(module, attr))
        and attr != "annotations"
    }
    assert set(module.__all__) == public


@pytest.mark.parametrize("name", LAZY_ROOTS)
def test_every_export_resolves_to_its_object_even_after_all_submodules_load(name: str) -> None:
    _import_everything()  # a submodule named like an export would now shadow it
    module = importlib.import_module(name)
    typed = _type_checking_imports(module)
    assert set(typed) == set(module.__all__)  # what mypy sees is what the package exports
    for attr, home in typed.items():
        value = getattr(module, attr)
        assert not inspect.ismodule(value), attr
        assert value is getattr(importlib.import_module(home), attr), attr


def _type_checking_imports(module: ModuleType) -> dict[str, str]:
    """``{name: module}`` of the ``if typing.TYPE_CHECKING:`` imports of a package root."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text())
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "typing.TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom)
                assert stmt.module is not None
                found |= {alias.asname or alias.name: stmt.module for alias in stmt.names}
    return found


@pytest.mark.parametrize("name", LAZY_ROOTS)
def test_an_unknown_name_is_an_attribute_error(name: str) -> None:
    module = importlib.import_module(name)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = module.no_such_name


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
        "heavy = ('numpy', 'onnxruntime', 'tokenizers', 'mcp', 'opentelemetry.sdk', 'redis', "
        "'asyncpg'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
