"""Every real Plano config we have either loads, or fails only on out-of-scope features.

The files are Plano's own demo configs (copied into ``plano_configs/`` here, or the
directory named by ``PLANO_COMPAT_CONFIGS``). Each one has an exact expected outcome below,
and a new file without one fails the suite until someone writes it down.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from plano_asgi.config import AgentListener, ModelListener, PlanoConfig, load_config
from plano_asgi.errors import ConfigError

COMPAT_DIR = Path(
    os.environ.get("PLANO_COMPAT_CONFIGS", Path(__file__).resolve().parent / "plano_configs")
)

PROMPT_LISTENER = "prompt listeners are not supported"
PROMPT_TARGETS = "prompt targets are not supported"
SYSTEM_PROMPT = "'system_prompt' is not supported"

#: file -> None (loads) or {key path: start of the out-of-scope message}
EXPECTED: dict[str, dict[str, str] | None] = {
    "advanced__currency_exchange__config.yaml": {
        "listeners[0].type": PROMPT_LISTENER,
        "system_prompt": SYSTEM_PROMPT,
        "prompt_targets": PROMPT_TARGETS,
    },
    "advanced__model_choice_test_harness__plano_config_with_aliases.yaml": None,
    "advanced__multi_turn_rag__config.yaml": {
        "listeners[0].type": PROMPT_LISTENER,
        "system_prompt": SYSTEM_PROMPT,
        "prompt_targets": PROMPT_TARGETS,
    },
    "advanced__stock_quote__config.yaml": {
        "listeners[0].type": PROMPT_LISTENER,
        "system_prompt": SYSTEM_PROMPT,
        "prompt_targets": PROMPT_TARGETS,
    },
    "agent_orchestration__multi_agent_crewai_langchain__config.yaml": None,
    "agent_orchestration__travel_agents__config.yaml": None,
    "agent_orchestration__travel_agents__config_local_orchestrator.yaml": None,
    "filter_chains__http_filter__config.yaml": None,
    "filter_chains__mcp_filter__config.yaml": None,
    "filter_chains__model_listener_filter__config.openai.yaml": None,
    "filter_chains__model_listener_filter__config.yaml": None,
    "filter_chains__pii_anonymizer__config.yaml": None,
    "getting_started__llm_gateway__config.yaml": None,
    "getting_started__weather_forecast__config.yaml": {
        "listeners[0].type": PROMPT_LISTENER,
        "system_prompt": SYSTEM_PROMPT,
        "prompt_targets": PROMPT_TARGETS,
    },
    "integrations__ollama__config.yaml": {
        "system_prompt": SYSTEM_PROMPT,
        "prompt_targets": PROMPT_TARGETS,
    },
    "integrations__spotify_bearer_auth__config.yaml": {
        "listeners[0].type": PROMPT_LISTENER,
        "system_prompt": SYSTEM_PROMPT,
        "prompt_targets": PROMPT_TARGETS,
    },
    "llm_routing__chatgpt_subscription__config.yaml": None,
    "llm_routing__claude_code_router__config.yaml": None,
    "llm_routing__codex_router__config.yaml": None,
    "llm_routing__model_alias_routing__config_with_aliases.yaml": None,
    "llm_routing__model_routing_service__config.yaml": None,
    "llm_routing__openclaw_routing__config.yaml": None,
    "llm_routing__preference_based_routing__config.yaml": None,
    "llm_routing__preference_based_routing__plano_config_local.yaml": None,
    "llm_routing__routing_budget__config.yaml": None,
}


class AnyEnv(Mapping[str, str]):
    """An environment where every variable is set (to a value naming it)."""

    def __getitem__(self, key: str) -> str:
        return f"test-{key.lower()}"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def compat_files() -> list[str]:
    return sorted(path.name for path in COMPAT_DIR.glob("*.yaml"))


def load(name: str) -> PlanoConfig:
    return load_config(COMPAT_DIR / name, env=AnyEnv())


def test_every_compat_file_has_an_expected_outcome() -> None:
    assert compat_files() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_compat_file_outcome(name: str) -> None:
    expected = EXPECTED[name]
    if expected is None:
        config = load(name)
        assert config.listeners, "every loadable demo serves at least one listener"
        return
    with pytest.raises(ConfigError) as caught:
        load(name)
    issues = caught.value.issues
    assert {issue.path for issue in issues} == set(expected)
    for issue in issues:
        assert issue.message.startswith(expected[issue.path])
        assert "plano-asgi" in issue.message or "prompt gateway" in issue.message
        assert issue.line is not None


@pytest.mark.parametrize("name", sorted(n for n, outcome in EXPECTED.items() if outcome is None))
def test_compat_file_validates_without_the_keys(name: str) -> None:
    config = load_config(COMPAT_DIR / name, env={}, allow_missing_env=True)
    assert config.version.startswith(("v0.", "0."))


def test_openclaw_legacy_listeners_become_the_model_listener() -> None:
    config = load("llm_routing__openclaw_routing__config.yaml")
    assert config.listeners == (
        ModelListener(
            type="model", name="egress_traffic", port=12000, timeout=30.0, address="0.0.0.0"
        ),
    )
    assert config.model_listener is not None
    assert config.model_listener.address == "0.0.0.0"  # said in the file: kept
    assert [p.model for p in config.model_providers] == [
        "openai/kimi-k2.5",
        "anthropic/claude-sonnet-4-5",
    ]
    assert config.model_providers[0].access_key == "test-moonshot_api_key"
    assert [(p.name, p.models) for p in config.routing_preferences] == [
        ("general conversation", ("openai/kimi-k2.5",)),
        ("code generation", ("anthropic/claude-sonnet-4-5",)),
    ]
    assert config.overrides.llm_routing_model == "Plano-Orchestrator"
    assert {str(w.path) for w in config.warnings} == {
        "listeners",
        "llm_providers",
        "llm_providers[0].routing_preferences",
        "llm_providers[1].routing_preferences",
    }


def test_routing_budget_demo_resolves_to_plain_data() -> None:
    config = load("llm_routing__routing_budget__config.yaml")
    budget = config.routing.routing_budget
    assert budget is not None
    assert budget.max_switch_spend_pct == 20
    assert budget.record_counterfactual is True
    assert budget.replenish_on_rebind is True  # default filled
    assert budget.cache_read_discount == 0.1
    assert config.routing.session_ttl_seconds == 600
    assert config.cost_source is not None
    assert config.cost_source.provider == "models.dev"
    assert config.cost_source.refresh_interval == 86400
    assert config.latency_source is None
    assert [p.name for p in config.routing_preferences] == ["code understanding", "code generation"]


def test_travel_demo_agent_listener() -> None:
    config = load("agent_orchestration__travel_agents__config.yaml")
    listener = config.agent_listener()
    assert isinstance(listener, AgentListener)
    assert (listener.name, listener.port, listener.router, listener.timeout) == (
        "travel_booking_service",
        8001,
        "plano_orchestrator_v1",
        30.0,
    )
    assert [a.id for a in listener.agents] == ["weather_agent", "flight_agent"]
    assert config.agent("flight_agent").url == "http://localhost:10520"
    assert config.default_provider is not None
    assert config.default_provider.model_id == "gpt-5.2"
    assert config.tracing is not None
    assert config.tracing.span_attributes is not None
    assert config.tracing.span_attributes.header_prefixes == ("x-acme-",)


def test_local_orchestrator_demo_splits_nested_model_ids() -> None:
    config = load("agent_orchestration__travel_agents__config_local_orchestrator.yaml")
    orchestrator = config.model_providers[0]
    assert (orchestrator.prefix, orchestrator.model_id) == (
        "plano",
        "katanemo/Plano-Orchestrator-4B",
    )
    assert orchestrator.base_url == "http://localhost:8000"
    assert config.orchestrator_model == "plano/katanemo/Plano-Orchestrator-4B"


def test_gateway_demo_custom_provider_and_retries() -> None:
    config = load("getting_started__llm_gateway__config.yaml")
    listener = config.model_listener
    assert listener is not None
    assert (listener.port, listener.max_retries, listener.timeout) == (12000, 3, 300.0)
    custom = next(p for p in config.model_providers if p.prefix == "custom")
    assert (custom.interface, custom.base_url) == ("openai", "http://localhost:11223")
    together = next(p for p in config.model_providers if p.prefix == "together_ai")
    assert together.model_id == "openai/gpt-oss-20b"
