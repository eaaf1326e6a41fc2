"""What an import loads: the package roots are thin, and each public name pulls in only its part.

Each case runs in a fresh interpreter and counts the ``sys.modules`` entries of our packages
and of the heavy third parties. The ceilings are committed figures (measured, plus a little
room): a root that imports its submodules eagerly again, or an SDK name that drags in the
server, breaks them. Before the lazy roots, ``import plano_agent_sdk`` loaded 91 of our
modules and 520 of openai's.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

OURS = ("plano_asgi", "plano_agent_sdk")
HEAVY = ("openai", "opentelemetry.sdk", "uvicorn", "mcp", "onnxruntime", "numpy", "redis")
SERVER_PARTS = (
    "plano_asgi.middleware",
    "plano_asgi.serving",
    "plano_asgi.gateway",
    "plano_asgi.listener",
    "plano_asgi.routing",
    "plano_asgi.filters",
    "plano_asgi.cli",
)

_PROBE = """
import json, sys
{code}
def count(prefix):
    return sum(1 for m in sys.modules if m == prefix or m.startswith(prefix + "."))
print(json.dumps({{
    "ours": sorted(m for m in sys.modules if m.split(".")[0] in {ours!r}),
    "heavy": {{p: count(p) for p in {heavy!r}}},
}}))
"""


def _loaded(code: str) -> tuple[list[str], dict[str, int]]:
    script = _PROBE.format(code=code, ours=OURS, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    found = json.loads(out.stdout)
    return found["ours"], found["heavy"]


@pytest.mark.parametrize(
    ("code", "ceiling", "allowed_heavy"),
    [
        # measured 3 (the root, plano_asgi, plano_asgi._lazy)
        pytest.param("import plano_agent_sdk", 4, (), id="sdk-root"),
        # measured 2
        pytest.param("import plano_asgi", 3, (), id="asgi-root"),
        # measured 21: an agent needs openai (its gateway client) and nothing of the server
        pytest.param("from plano_agent_sdk import Agent", 25, ("openai",), id="sdk-agent"),
        # measured 8
        pytest.param("from plano_agent_sdk import filter_function", 11, (), id="sdk-filter"),
        # measured 63: with plano_asgi.wire, plano_asgi.redaction and plano_asgi.json_body
        pytest.param("from plano_asgi import PlanoMiddleware", 64, (), id="middleware"),
        # measured 64: with the outbound seam, plano_asgi.wire, plano_asgi.redaction and the
        # request check (json_body, gateway.request_checks, wire.messages_request)
        pytest.param("from plano_asgi import ModelGateway", 66, (), id="gateway"),
    ],
)
def test_an_import_loads_only_what_it_uses(
    code: str, ceiling: int, allowed_heavy: tuple[str, ...]
) -> None:
    ours, heavy = _loaded(code)
    assert len(ours) <= ceiling, ours
    assert {p: n for p, n in heavy.items() if n and p not in allowed_heavy} == {}


@pytest.mark.parametrize(
    "code",
    [
        "import plano_agent_sdk",
        "from plano_agent_sdk import Agent, agent_tools, filter_function, gateway_client",
        "import plano_agent_sdk.testing",
    ],
)
def test_the_sdk_never_loads_the_server_parts(code: str) -> None:
    ours, _heavy = _loaded(code)
    assert [m for m in ours if m.startswith(SERVER_PARTS)] == []


def test_every_export_resolves_in_a_fresh_interpreter() -> None:
    code = (
        "import plano_asgi, plano_agent_sdk\n"
        "for root in (plano_asgi, plano_agent_sdk):\n"
        "    for name in root.__all__:\n"
        "        getattr(root, name)"
    )
    ours, _heavy = _loaded(code)
    assert "plano_asgi.gateway.app" in ours  # the names really were imported
    assert "plano_agent_sdk.agent" in ours
