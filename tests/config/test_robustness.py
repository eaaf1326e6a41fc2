"""Mangled configs fail with a ConfigError (key paths and messages), never anything else.

Starts from every real Plano config we have and applies seeded random damage: deleted
keys, wrong types, odd strings, duplicated list items, legacy keys in odd places.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
import yaml

from plano_asgi.config import PlanoConfig, load_config_data
from plano_asgi.errors import ConfigError
from tests.config.test_compat import COMPAT_DIR

ODD_VALUES: list[Any] = [
    None, 0, -1, 70000, 1.5, True, "", "x", "$", "${X", "${X:-}", "openai/*", "/", "a/b",
    [], [1], ["a"], {}, {"type": "prompt"}, {"a": 1}, {"type": "model"}, {"type": "agent"},
    "30s", "plano_agent_router", {"ingress_traffic": {}}, {"egress_traffic": None},
]  # fmt: skip
ODD_KEYS = [
    "extra", "provider", "filter_chain", "type", "default", "router", "llm_providers",
    "model_providers", "listeners", "prompt_targets",
]  # fmt: skip


def key_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += key_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += key_paths(value, (*prefix, index))
    return out


def damage(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(key_paths(doc))
        parent: Any = doc
        for key in path[:-1]:
            parent = parent[key]
        roll = rng.random()
        if roll < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        elif roll < 0.3 and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        elif roll < 0.4 and isinstance(parent, dict):
            parent[rng.choice(ODD_KEYS)] = copy.deepcopy(rng.choice(ODD_VALUES))
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return doc


def attempt(doc: dict[str, Any], *, allow_missing_env: bool) -> PlanoConfig | ConfigError:
    """Load ``doc``; any exception other than ConfigError propagates and fails the test."""
    try:
        return load_config_data(doc, env={}, allow_missing_env=allow_missing_env)
    except ConfigError as exc:
        return exc


@pytest.mark.parametrize("seed", range(4))
def test_damaged_configs_raise_only_config_errors(seed: int) -> None:
    docs = [yaml.safe_load(path.read_text()) for path in sorted(COMPAT_DIR.glob("*.yaml"))]
    rng = random.Random(seed)
    outcomes = {"loaded": 0, "rejected": 0}
    for _ in range(150):
        doc = damage(rng.choice(docs), rng)
        outcome = attempt(doc, allow_missing_env=rng.random() < 0.5)
        if isinstance(outcome, ConfigError):
            assert outcome.issues
            assert all(isinstance(i.path, str) and i.message for i in outcome.issues)
            outcomes["rejected"] += 1
        else:
            assert isinstance(outcome, PlanoConfig)
            outcomes["loaded"] += 1
    assert outcomes["rejected"] > 0
