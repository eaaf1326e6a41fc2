"""The resolved config is plain data: seconds, split model ids, defaults filled."""

from __future__ import annotations

import pytest

from plano_asgi.config import (
    HopTimeouts,
    ModelAlias,
    ModelProvider,
    PlanoConfig,
    PlanoSettings,
    parse_duration,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("30s", 30.0, id="seconds"),
        pytest.param("250ms", 0.25, id="milliseconds"),
        pytest.param("5m", 300.0, id="minutes"),
        pytest.param("1h", 3600.0, id="hours"),
        pytest.param("0.005s", 0.005, id="fraction"),
        pytest.param(" 10 s ", 10.0, id="spaces"),
        pytest.param("12", 12.0, id="bare-string"),
        pytest.param(12, 12.0, id="int"),
        pytest.param(1.5, 1.5, id="float"),
    ],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value", [pytest.param(v, id=repr(v)) for v in ["soon", "5d", "-1s", -3, True, None, [1]]]
)
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_defaults_are_filled() -> None:
    config = PlanoConfig.from_dict(
        {
            "version": "v0.3.0",
            "agents": [{"id": "a", "url": "http://127.0.0.1:1"}],
            "filters": [{"id": "f", "url": "http://127.0.0.1:2"}],
            "listeners": [
                {"type": "agent", "name": "front", "agents": [{"id": "a", "description": "d"}]},
                {"type": "model", "name": "gw"},
            ],
        }
    )
    front = config.agent_listener("front")
    assert (front.port, front.address, front.timeout, front.router) == (None, None, 30.0, None)
    assert front.agents[0].default is False
    gateway = config.model_listener
    assert gateway is not None
    assert (gateway.port, gateway.timeout, gateway.max_retries) == (12000, 300.0, None)
    flt = config.filter("f")
    assert (flt.type, flt.transport, flt.tool, flt.on_error) == (
        "mcp",
        "streamable-http",
        None,
        "fail",
    )
    assert config.filter("a").type == "mcp"  # an agent in a chain acts as an MCP filter
    assert config.overrides.orchestrator_model_context_length == 8192
    assert config.overrides.upstream_connect_timeout == 5.0
    assert config.routing.session_ttl_seconds == 600
    assert config.routing.session_max_entries == 10000
    assert config.routing.session_cache.type == "memory"
    assert config.prompt_caching.enabled is False
    assert config.prompt_caching.min_prefix_tokens == 1024
    assert HopTimeouts() == HopTimeouts(connect=5.0, first_byte=60.0, idle=60.0)
    assert HopTimeouts(connect="250ms", idle="2m").idle == 120.0


@pytest.mark.parametrize(
    ("model", "prefix", "model_id", "wildcard"),
    [
        pytest.param("openai/gpt-4o", "openai", "gpt-4o", False, id="plain"),
        pytest.param("together_ai/meta-llama/Llama-2", "together_ai", "meta-llama/Llama-2", False),
        pytest.param("anthropic/*", "anthropic", "*", True, id="wildcard"),
    ],
)
def test_provider_prefix_and_model_id(
    model: str, prefix: str, model_id: str, wildcard: bool
) -> None:
    provider = ModelProvider(model=model)
    assert (provider.prefix, provider.model_id, provider.is_wildcard) == (
        prefix,
        model_id,
        wildcard,
    )
    assert provider.display_name == model
    assert provider.interface == prefix


def test_provider_name_and_interface_override() -> None:
    provider = ModelProvider(model="acme/llm", name="house-llm", provider_interface="openai")
    assert (provider.display_name, provider.interface) == ("house-llm", "openai")


def test_alias_targets() -> None:
    assert ModelAlias(target="gpt-4o").targets == ("gpt-4o",)
    assert ModelAlias(target=["a", "b"]).targets == ("a", "b")


def test_lookups_raise_key_errors_that_name_what_exists() -> None:
    config = PlanoConfig.from_dict(
        {"version": "v0.3.0", "listeners": [{"type": "model", "name": "gw", "port": 12000}]}
    )
    with pytest.raises(KeyError, match="listeners: gw"):
        config.listener("front")
    with pytest.raises(KeyError, match="not an agent listener"):
        config.agent_listener("gw")
    with pytest.raises(KeyError, match="agent listeners: none"):
        config.agent_listener()


def test_orchestrator_model_prefers_the_agent_orchestration_model() -> None:
    config = PlanoConfig.from_dict(
        {
            "version": "v0.3.0",
            "listeners": [],
            "overrides": {"llm_routing_model": "router", "agent_orchestration_model": "agents"},
        }
    )
    assert config.orchestrator_model == "agents"


# -- PlanoSettings --------------------------------------------------------------------------

ENV_NAMES = (
    "PLANO_CONFIG",
    "PLANO_LOG_LEVEL",
    "PLANO_HOST",
    "PLANO_GATEWAY_URL",
    "PLANO_OTLP_ENDPOINT",
    "LLM_GATEWAY_ENDPOINT",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_settings_defaults(clean_env: pytest.MonkeyPatch) -> None:
    settings = PlanoSettings()
    assert settings.config is None
    assert settings.log_level == "info"
    assert settings.host is None
    assert settings.gateway_url == "http://127.0.0.1:12000/v1"
    assert settings.otlp_endpoint is None


def test_settings_read_plano_prefixed_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PLANO_CONFIG", "/etc/plano/config.yaml")
    clean_env.setenv("PLANO_LOG_LEVEL", "DEBUG")
    clean_env.setenv("PLANO_HOST", "127.0.0.1")
    clean_env.setenv("PLANO_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    settings = PlanoSettings()
    assert settings.config == "/etc/plano/config.yaml"
    assert settings.log_level == "debug"
    assert settings.host == "127.0.0.1"
    assert settings.otlp_endpoint == "http://127.0.0.1:4318"


def test_settings_gateway_url_from_plano_demo_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("LLM_GATEWAY_ENDPOINT", "http://127.0.0.1:12001/v1")
    assert PlanoSettings().gateway_url == "http://127.0.0.1:12001/v1"
    clean_env.setenv("PLANO_GATEWAY_URL", "http://127.0.0.1:12002/v1")
    assert PlanoSettings().gateway_url == "http://127.0.0.1:12002/v1"


def test_settings_keywords_override_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PLANO_GATEWAY_URL", "http://127.0.0.1:1/v1")
    settings = PlanoSettings(gateway_url="http://127.0.0.1:2/v1", log_level="warning")
    assert (settings.gateway_url, settings.log_level) == ("http://127.0.0.1:2/v1", "warning")


def test_settings_reject_unknown_log_level(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PLANO_LOG_LEVEL", "chatty")
    with pytest.raises(ValueError, match="log_level"):
        PlanoSettings()


@pytest.mark.parametrize(
    ("listeners", "providers", "expected"),
    [
        pytest.param([], [{"model": "openai/gpt-4o"}], ("egress_traffic", 12000), id="added"),
        pytest.param(
            [{"type": "model", "name": "gw", "port": 12100}],
            [{"model": "openai/gpt-4o"}],
            None,
            id="declared",
        ),
        pytest.param([], [], None, id="no-providers"),
        pytest.param(
            [
                {
                    "type": "agent",
                    "name": "a",
                    "port": 12000,
                    "agents": [{"id": "x", "description": "d"}],
                }
            ],
            [{"model": "openai/gpt-4o"}],
            None,
            id="port-taken",
        ),
    ],
)
def test_implicit_model_listener(
    listeners: list[dict[str, object]],
    providers: list[dict[str, object]],
    expected: tuple[str, int] | None,
) -> None:
    config = PlanoConfig.from_dict(
        {
            "version": "v0.3.0",
            "agents": [{"id": "x", "url": "http://127.0.0.1:1"}],
            "listeners": listeners,
            "model_providers": providers,
        }
    )
    implicit = config.implicit_model_listener
    assert (None if implicit is None else (implicit.name, implicit.port)) == expected
    if implicit is not None:
        assert (implicit.timeout, implicit.address) == (300.0, None)
