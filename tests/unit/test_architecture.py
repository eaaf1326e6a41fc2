"""The layer rules of ARCHITECTURE.md, enforced on every import of both packages.

Every ``import`` and ``from ... import`` of every module is read with :mod:`ast`, type-only
and function-level imports included, and checked against :data:`RULES` (which layer may
import which). A self-check keeps the table honest: each layer it names is a real module or
package, each module belongs to a layer, and ARCHITECTURE.md names every layer and only
modules that exist.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("plano_asgi", "plano_agent_sdk")

CORE = frozenset(
    {"_asgi", "_lazy", "_lifecycle", "chat", "chunks", "exchange", "json_body", "redaction", "sse"}
)
BASE = CORE | {"errors"}
_APIS = frozenset({"state", "responses"})
_BELOW_LISTENER = BASE | _APIS | {"config", "outbound", "telemetry", "filters", "routing", "wire"}
_BELOW_MIDDLEWARE = _BELOW_LISTENER | {"listener", "agent_tools"}
_EVERYTHING = frozenset({"*"})

RULES: Mapping[str, frozenset[str]] = {
    # layer of plano_asgi (its first name under plano_asgi) -> what it may import
    "errors": frozenset(),
    **dict.fromkeys(CORE, BASE),
    "config": frozenset({"errors", "_lazy"}),
    "outbound": BASE | {"config"},
    "telemetry": BASE | {"config", "filters.base"},
    "filters": BASE | {"config", "outbound"},
    "routing": BASE | {"config", "outbound", "telemetry"},
    "state": BASE | {"config"},
    "responses": BASE | {"config", "state"},
    "wire": BASE,
    "listener": _BELOW_LISTENER,
    "gateway": _BELOW_LISTENER,
    "agent_tools": BASE | {"config", "telemetry", "listener", "routing"},
    "middleware": _BELOW_MIDDLEWARE,
    "serving": _BELOW_MIDDLEWARE | {"middleware", "gateway"},
    "cli": _EVERYTHING,
    "workers": _EVERYTHING,  # serve --workers: part of the command
    "__main__": _EVERYTHING,
    "plano_asgi": _EVERYTHING,  # the root: lazy re-exports
}
SDK_MAY_USE = BASE | {
    "config.settings",
    "outbound",
    "telemetry.attributes",
    "telemetry.propagation",
    "agent_tools.origin",
}
"""What plano_agent_sdk may import from plano_asgi (modules or packages under it)."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def _our_modules() -> Mapping[str, str]:
    return {
        _module_name(path): path.read_text(encoding="utf-8")
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


@functools.cache
def _imports(source: str, known: frozenset[str]) -> tuple[str, ...]:
    """Every module of ours that ``source`` imports (``from pkg import sub`` names ``sub``)."""
    return tuple(_walk_imports(source, known))


def _walk_imports(source: str, known: frozenset[str]) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] in PACKAGES)


def _layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "plano_agent_sdk":
        return "plano_agent_sdk"
    return parts[1] if len(parts) > 1 else "plano_asgi"


def _covered(target: str, allowed: frozenset[str]) -> bool:
    if "*" in allowed:
        return True
    return any(
        target == f"plano_asgi.{a}" or target.startswith(f"plano_asgi.{a}.") for a in allowed
    )


def violations(modules: Mapping[str, str]) -> list[str]:
    """``importer -> imported`` for every import the rules forbid."""
    known = frozenset(_our_modules())
    found: list[str] = []
    for module, source in modules.items():
        layer = _layer(module)
        if layer != "plano_agent_sdk" and layer not in RULES:
            found.append(f"{module}: layer {layer!r} has no row in RULES")
            continue
        for target in _imports(source, known):
            if layer == "plano_agent_sdk":
                ok = target.startswith("plano_agent_sdk") or _covered(target, SDK_MAY_USE)
            elif target.startswith("plano_agent_sdk"):
                ok = False  # plano_asgi never imports the SDK
            else:
                ok = _layer(target) == layer or _covered(target, RULES[layer])
            if not ok:
                found.append(f"{module} -> {target}")
    return found


def test_no_module_imports_across_the_layer_rules() -> None:
    assert violations(_our_modules()) == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        pytest.param(
            "plano_asgi.config.x",
            "from plano_asgi.gateway.app import ModelGateway",
            ["plano_asgi.config.x -> plano_asgi.gateway.app"],
            id="config-imports-upward",
        ),
        pytest.param(
            "plano_asgi.errors",
            "import plano_asgi.chat",
            ["plano_asgi.errors -> plano_asgi.chat"],
            id="errors-imports-anything",
        ),
        pytest.param(
            "plano_agent_sdk.x",
            "def f():\n    from plano_asgi.middleware import PlanoMiddleware",
            ["plano_agent_sdk.x -> plano_asgi.middleware"],
            id="sdk-imports-a-server-part-lazily",
        ),
        pytest.param(
            "plano_asgi.routing.x",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import plano_agent_sdk",
            ["plano_asgi.routing.x -> plano_agent_sdk"],
            id="asgi-imports-the-sdk-for-types",
        ),
        pytest.param(
            "plano_asgi.telemetry.x",
            "from plano_asgi.filters.chain import FilterChain",
            ["plano_asgi.telemetry.x -> plano_asgi.filters.chain"],
            id="telemetry-beyond-filters-base",
        ),
        pytest.param(
            "plano_asgi.gateway.x",
            "from plano_asgi import ModelGateway",
            ["plano_asgi.gateway.x -> plano_asgi"],
            id="importing-from-the-root",
        ),
        pytest.param(
            "plano_asgi.listener.x",
            "from plano_asgi.routing.base import Router\nimport httpx",
            [],
            id="allowed",
        ),
    ],
)
def test_the_checker_catches_a_forbidden_import(
    module: str, source: str, expected: list[str]
) -> None:
    modules = {**_our_modules(), module: source}
    assert [v for v in violations(modules) if v.startswith(module + " ")] == expected


def test_the_rule_table_matches_the_real_packages() -> None:
    modules = set(_our_modules())
    layers = {_layer(m) for m in modules}
    assert layers - {"plano_agent_sdk"} == set(RULES)  # every layer has a row, every row a layer
    mentioned = {a for allowed in RULES.values() for a in allowed} | SDK_MAY_USE
    for name in mentioned - {"*"}:
        assert f"plano_asgi.{name}" in modules, name


def test_architecture_md_names_every_layer_and_only_real_modules() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    modules = set(_our_modules())
    named = set(re.findall(r"\b(?:plano_asgi|plano_agent_sdk)(?:\.[a-z_]+)+", text))
    assert named, "no module named"
    assert sorted(n for n in named if n not in modules) == []
    table = text.split("## The layers", 1)[1]
    for layer in RULES:
        assert f"`{layer}`" in table, layer
    assert len(text.splitlines()) <= 120
