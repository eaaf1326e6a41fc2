"""Loading: $VAR substitution, legacy forms, one report for every problem, warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from plano_asgi.config import ModelListener, PlanoConfig, load_config
from plano_asgi.errors import ConfigError, ConfigIssue

MODEL_LISTENER = "listeners:\n  - type: model\n    name: gateway\n    port: 12000\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plano_config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, **kwargs: object) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, **kwargs)  # type: ignore[arg-type]
    return [(issue.line, issue.path, issue.message) for issue in caught.value.issues]


# -- environment substitution -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        pytest.param("$KEY", {"KEY": "sk-1"}, "sk-1", id="bare"),
        pytest.param("${KEY}", {"KEY": "sk-1"}, "sk-1", id="braced"),
        pytest.param("Bearer ${KEY}!", {"KEY": "sk-1"}, "Bearer sk-1!", id="inside-text"),
        pytest.param("$A$B", {"A": "x", "B": "y"}, "xy", id="two"),
        pytest.param("${KEY:-fallback}", {}, "fallback", id="default-unset"),
        pytest.param("${KEY:-fallback}", {"KEY": ""}, "fallback", id="default-empty"),
        pytest.param("${KEY:-fallback}", {"KEY": "set"}, "set", id="default-set"),
        pytest.param("${KEY:-}", {}, "", id="empty-default"),
        pytest.param("${KEY-fallback}", {"KEY": ""}, "", id="dash-default-keeps-empty"),
        pytest.param("${KEY-fallback}", {}, "fallback", id="dash-default-unset"),
        pytest.param("price: 5$", {}, "price: 5$", id="lone-dollar"),
        pytest.param("${not closed", {}, "${not closed", id="unclosed-brace"),
    ],
)
def test_env_substitution_forms(value: str, env: dict[str, str], expected: str) -> None:
    config = PlanoConfig.from_dict(
        {
            "version": "v0.3.0",
            "listeners": [],
            "model_providers": [{"model": "openai/gpt-4o", "access_key": value}],
        },
        env=env,
    )
    assert config.model_providers[0].access_key == expected


def test_env_substitution_reaches_every_string_and_types_follow(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: v0.3.0\n"
        "listeners:\n"
        "  - type: model\n"
        "    name: ${LISTENER_NAME}\n"
        "    port: ${PORT:-12000}\n"
        "    timeout: $TIMEOUT\n"
        "tracing:\n"
        "  span_attributes:\n"
        "    header_prefixes: [$PREFIX]\n"
        "    static:\n"
        "      env: ${DEPLOY_ENV:-dev}\n",
    )
    config = load_config(
        path, env={"LISTENER_NAME": "gw", "PORT": "12100", "TIMEOUT": "45s", "PREFIX": "x-a-"}
    )
    listener = config.model_listener
    assert listener is not None
    assert (listener.name, listener.port, listener.timeout) == ("gw", 12100, 45.0)
    assert config.tracing is not None
    assert config.tracing.span_attributes is not None
    assert config.tracing.span_attributes.header_prefixes == ("x-a-",)
    assert config.tracing.span_attributes.static == {"env": "dev"}


def test_missing_env_names_variable_key_path_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: v0.3.0\n"
        "# a comment mentioning $NOT_A_VARIABLE is ignored\n"
        "listeners: []\n"
        "model_providers:\n"
        "  - model: openai/gpt-4o\n"
        "    headers:\n"
        "      x-team: platform\n"
        "      x-token: Bearer ${TEAM_TOKEN}\n"
        "  - model: anthropic/claude-sonnet-4-6\n"
        "    access_key: $ANTHROPIC_KEY\n",
    )
    assert problems(path, env={}) == [
        (
            8,
            "model_providers[0].headers.x-token",
            "environment variable 'TEAM_TOKEN' is not set; set it, give a default "
            "('${TEAM_TOKEN:-value}'), or validate with --allow-missing-env",
        ),
        (
            10,
            "model_providers[1].access_key",
            "environment variable 'ANTHROPIC_KEY' is not set; set it, give a default "
            "('${ANTHROPIC_KEY:-value}'), or validate with --allow-missing-env",
        ),
    ]


def test_missing_env_in_a_list_item_and_a_block_scalar_has_its_own_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: v0.3.0\n"
        "agents:\n"
        "  - id: a\n"
        "    url: http://127.0.0.1:1\n"
        "listeners:\n"
        "  - type: agent\n"
        "    name: front\n"
        "    port: 8001\n"
        "    forward_headers:\n"
        "      - authorization\n"
        "      - $HEADER_NAME\n"
        "    agents:\n"
        "      - id: a\n"
        "        description: |\n"
        "          Answers questions about $TOPIC.\n",
    )
    assert [(line, path) for line, path, _ in problems(path, env={})] == [
        (11, "listeners[0].forward_headers[1]"),
        (14, "listeners[0].agents[0].description"),
    ]


def test_missing_env_reports_only_the_variable_not_the_type_error(tmp_path: Path) -> None:
    path = write(
        tmp_path, "version: v0.3.0\nlisteners:\n  - type: model\n    name: m\n    port: $P\n"
    )
    assert [path for _, path, _ in problems(path, env={})] == ["listeners[0].port"]
    assert "'P' is not set" in problems(path, env={})[0][2]


def test_allow_missing_env_keeps_the_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"version: v0.3.0\n{MODEL_LISTENER}model_providers:\n"
        "  - model: openai/gpt-4o\n    access_key: $OPENAI_API_KEY\n",
    )
    config = load_config(path, env={}, allow_missing_env=True)
    assert config.model_providers[0].access_key == "$OPENAI_API_KEY"


def test_env_defaults_to_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANO_TEST_KEY", "from-process")
    path = write(
        tmp_path,
        f"version: v0.3.0\n{MODEL_LISTENER}model_providers:\n"
        "  - model: openai/gpt-4o\n    access_key: $PLANO_TEST_KEY\n",
    )
    assert load_config(path).model_providers[0].access_key == "from-process"


# -- one report ------------------------------------------------------------------------


def test_one_report_holds_type_errors_and_reference_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: v0.3.0\n"
        "agents:\n"
        "  - id: weather\n"
        "    url: http://127.0.0.1:10510\n"
        "  - id: flights\n"
        "    url: 42\n"
        "listeners:\n"
        "  - type: agent\n"
        "    name: travel\n"
        "    port: 8001\n"
        "    agents:\n"
        "      - id: flights\n"
        "        description: flights\n"
        "      - id: hotels\n"
        "        description: hotels\n"
        "  - type: model\n"
        "    name: gateway\n"
        "    port: nope\n"
        "model_providers:\n"
        "  - model: openai/gpt-4o\n"
        "    default: true\n"
        "  - model: openai/gpt-4o-mini\n"
        "    default: true\n",
    )
    assert problems(path, env={}) == [
        (6, "agents[1].url", "expected a string, got an integer"),
        (
            14,
            "listeners[0].agents[1].id",
            "unknown agent 'hotels'; declared agents: weather",
        ),
        (18, "listeners[1].port", "expected an integer, got a string"),
        (
            23,
            "model_providers[1].default",
            "only one provider may be the default (model_providers[0] already is)",
        ),
    ]


def test_errors_after_a_prompt_listener_keep_their_file_index(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: v0.3.0\n"
        "listeners:\n"
        "  - type: prompt\n"
        "    name: p\n"
        "  - type: model\n"
        "    name: m\n"
        "    colour: blue\n",
    )
    assert [(line, path) for line, path, _ in problems(path, env={})] == [
        (3, "listeners[0].type"),
        (7, "listeners[1].colour"),
    ]


def test_from_dict_errors_have_paths_but_no_lines() -> None:
    with pytest.raises(ConfigError) as caught:
        PlanoConfig.from_dict({"version": "v0.3.0", "listeners": [{"type": "model"}]})
    assert caught.value.issues == (
        ConfigIssue("listeners[0].name", "required key is missing", None),
    )
    assert caught.value.source is None


# -- legacy forms ------------------------------------------------------------------------


def test_legacy_listener_errors_point_at_egress_traffic(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: v0.1\n"
        "listeners:\n"
        "  egress_traffic:\n"
        "    address: 127.0.0.1\n"
        "    port: high\n"
        "llm_providers:\n"
        "  - model: gpt-4o\n",
    )
    assert [(line, path) for line, path, _ in problems(path, env={})] == [
        (5, "listeners.egress_traffic.port"),
        (7, "llm_providers[0].model"),
    ]


def test_legacy_egress_listener_keeps_its_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 0.2.0\n"
        "listeners:\n"
        "  egress_traffic:\n"
        "    address: 127.0.0.1\n"
        "    port: 12500\n"
        "    message_format: openai\n"
        "    timeout: 2m\n"
        "llm_providers:\n"
        "  - model: openai/gpt-4o\n",
    )
    config = load_config(path, env={})
    assert config.listeners == (
        ModelListener(
            type="model", name="egress_traffic", address="127.0.0.1", port=12500, timeout=120.0
        ),
    )


def test_legacy_synonyms_are_accepted_with_warnings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: v0.3.0\n"
        "agents:\n"
        "  - id: helper\n"
        "    url: http://127.0.0.1:10510\n"
        "filters:\n"
        "  - id: guard\n"
        "    url: http://127.0.0.1:10500\n"
        "listeners:\n"
        "  - type: agent\n"
        "    name: front\n"
        "    port: 8001\n"
        "    max_retries: 2\n"
        "    agents:\n"
        "      - id: helper\n"
        "        description: helps\n"
        "        filter_chain: [guard]\n"
        "llm_providers:\n"
        "  - model: acme/llm\n"
        "    provider: openai\n"
        "    base_url: http://127.0.0.1:9000\n"
        "    access_key: sk-unused\n"
        "    passthrough_auth: true\n",
    )
    config = load_config(path, env={})
    assert config.agent_listener("front").agents[0].input_filters == ("guard",)
    assert config.model_providers[0].provider_interface == "openai"
    assert config.model_providers[0].interface == "openai"
    assert [(w.line, w.path) for w in config.warnings] == [
        (12, "listeners[0].max_retries"),
        (16, "listeners[0].agents[0].filter_chain"),
        (17, "llm_providers"),
        (21, "llm_providers[0].access_key"),
    ]


def test_unknown_filter_under_filter_chain_is_reported_at_filter_chain(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: v0.3.0\n"
        "agents:\n"
        "  - id: helper\n"
        "    url: http://127.0.0.1:10510\n"
        "listeners:\n"
        "  - type: agent\n"
        "    name: front\n"
        "    agents:\n"
        "      - id: helper\n"
        "        description: helps\n"
        "        filter_chain: [gaurd]\n",
    )
    assert problems(path, env={}) == [
        (
            11,
            "listeners[0].agents[0].filter_chain[0]",
            "unknown filter 'gaurd'; declared filters and agents: helper",
        )
    ]


def test_inline_routing_preferences_are_lifted_and_merged() -> None:
    config = PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "listeners": [],
            "model_providers": [
                {
                    "model": "openai/gpt-4o",
                    "routing_preferences": [
                        {"name": "code", "description": "writing code"},
                        {"name": "chat", "description": "small talk"},
                    ],
                },
                {
                    "model": "anthropic/claude-sonnet-4-6",
                    "routing_preferences": [
                        {"name": "code", "description": "a different description"}
                    ],
                },
            ],
            "routing_preferences": [
                {"name": "chat", "description": "declared wins", "models": ["openai/gpt-4o"]}
            ],
        }
    )
    assert [(p.name, p.description, p.models) for p in config.routing_preferences] == [
        ("chat", "declared wins", ("openai/gpt-4o",)),
        ("code", "writing code", ("openai/gpt-4o", "anthropic/claude-sonnet-4-6")),
    ]
    # The providers keep what they declared.
    assert [p.name for p in config.model_providers[1].routing_preferences] == ["code"]


def test_invalid_entries_are_not_reported_again_as_unknown_references(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: v0.3.0\n"
        "agents:\n"
        "  - id: helper\n"
        "    url: http://127.0.0.1:10510\n"
        "    kind: special\n"
        "listeners:\n"
        "  - type: agent\n"
        "    name: front\n"
        "    agents:\n"
        "      - id: helper\n"
        "        description: helps\n",
    )
    assert [(line, path) for line, path, _ in problems(path, env={})] == [(5, "agents[0].kind")]


def test_warnings_for_ignored_prompt_gateway_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"version: v0.3.0\n{MODEL_LISTENER}"
        "mode: prompt\n"
        "overrides:\n"
        "  use_agent_orchestrator: true\n"
        "  some_future_knob: 3\n"
        "endpoints:\n"
        "  app_server:\n"
        "    endpoint: 127.0.0.1:80\n"
        "    connect_timeout: 0.005s\n",
    )
    config = load_config(path, env={})
    assert [(w.line, w.path) for w in config.warnings] == [
        (6, "mode"),
        (8, "overrides.use_agent_orchestrator"),
        (10, "endpoints"),
    ]
    assert config.endpoints["app_server"].connect_timeout == pytest.approx(0.005)
    assert config.overrides.model_extra == {"some_future_knob": 3}


def test_no_listeners_loads_with_a_warning() -> None:
    config = PlanoConfig.from_dict({"version": "v0.3.0"})
    assert config.listeners == ()
    assert [w.path for w in config.warnings] == ["listeners"]


def test_config_is_frozen_and_remembers_its_source(tmp_path: Path) -> None:
    path = write(tmp_path, f"version: v0.3.0\n{MODEL_LISTENER}")
    config = load_config(path)
    assert config.source == path.resolve()
    with pytest.raises(ValueError, match="frozen"):
        config.version = "v0.4.0"  # type: ignore[misc]


def test_prompt_caching_ttl_defaults_to_the_routing_session_ttl() -> None:
    config = PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "listeners": [],
            "routing": {"session_ttl_seconds": 900},
            "prompt_caching": {"enabled": True},
        }
    )
    assert config.prompt_caching.session_ttl_seconds == 900
    assert config.prompt_caching.session_affinity is True


def test_yaml_alias_loop_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "version: v0.3.0\nlisteners: []\noverrides: &o\n  again: *o\n")
    assert problems(path, env={}) == [
        (4, "overrides.again", "this value contains itself (a YAML alias loop)")
    ]


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: v0.3.0\n"
        "model_providers:\n"
        "  - &openai\n"
        "    model: openai/gpt-4o\n"
        "    access_key: sk-shared\n"
        "  - <<: *openai\n"
        "    model: openai/gpt-4o-mini\n"
        f"{MODEL_LISTENER}",
    )
    config = load_config(path, env={})
    assert [(p.model, p.access_key) for p in config.model_providers] == [
        ("openai/gpt-4o", "sk-shared"),
        ("openai/gpt-4o-mini", "sk-shared"),
    ]


def test_allow_missing_env_does_not_judge_the_shape_of_unknown_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: v0.3.0\n"
        "listeners:\n"
        "  - type: model\n"
        "    name: gateway\n"
        "model_providers:\n"
        "  - model: ollama/llama3.1\n"
        "    base_url: $OLLAMA_URL\n"
        "tracing:\n"
        "  opentracing_grpc_endpoint: ${OTEL_COLLECTOR}\n",
    )
    config = load_config(path, env={}, allow_missing_env=True)
    assert config.model_providers[0].base_url == "$OLLAMA_URL"
    assert problems(path, env={"OLLAMA_URL": "localhost:11434", "OTEL_COLLECTOR": "grpc://x"}) == [
        (
            7,
            "model_providers[0].base_url",
            "'localhost:11434' is not an http:// or https:// URL with a host",
        ),
        (
            9,
            "tracing.opentracing_grpc_endpoint",
            "'grpc://x' must be an http://host:port URL (scheme http)",
        ),
    ]


def test_old_router_name_is_read_as_plano_orchestrator_v1() -> None:
    config = PlanoConfig.from_dict(
        {
            "version": "v0.3.0",
            "agents": [{"id": "a", "url": "http://127.0.0.1:1"}],
            "listeners": [
                {
                    "type": "agent",
                    "name": "front",
                    "router": "plano_agent_router",
                    "agents": [{"id": "a", "description": "d"}],
                }
            ],
        }
    )
    assert config.agent_listener("front").router == "plano_orchestrator_v1"
    assert [(w.path, w.message) for w in config.warnings] == [
        (
            "listeners[0].router",
            "old name; read as 'plano_orchestrator_v1' (Plano's schema rejects it)",
        )
    ]
