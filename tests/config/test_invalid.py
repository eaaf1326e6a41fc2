"""Invalid configs: each reports the exact key path, YAML line and message, and nothing else.

One row per mistake a config author can make; each file is written to disk and loaded
with an empty environment, as ``plano-asgi validate`` would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from plano_asgi.config import load_config
from plano_asgi.errors import ConfigError

Issue = tuple[int | None, str, str]

CASES = [
    pytest.param(
        ("version: v0.3.0\nlistener: []\n"),
        [
            (
                2,
                "listener",
                (
                    "unknown key (did you mean 'listeners'?); allowed keys: agents, "
                    "endpoints, filters, listeners, mode, model_aliases, "
                    "model_metrics_sources, model_providers, overrides, prompt_caching, "
                    "ratelimits, routing, routing_preferences, state_storage, tracing, "
                    "version"
                ),
            ),
        ],
        id="unknown-top-level-key",
    ),
    pytest.param(
        "listeners: []\n",
        [
            (None, "version", "required key is missing"),
        ],
        id="missing-version",
    ),
    pytest.param(
        ("version: v0.5.0\nlisteners: []\n"),
        [
            (
                1,
                "version",
                (
                    "'v0.5.0' is not allowed; use 'v0.1', 'v0.1.0', '0.1-beta', "
                    "'0.2.0', 'v0.3.0' or 'v0.4.0'"
                ),
            ),
        ],
        id="bad-version",
    ),
    pytest.param(
        ("version: v0.3.0\nagents:\n  - id: a\n    urll: http://x:1\nlisteners: []\n"),
        [
            (
                4,
                "agents[0].urll",
                "unknown key (did you mean 'url'?); allowed keys: api, app, id, timeouts, url",
            ),
        ],
        id="agent-unknown-key",
    ),
    pytest.param(
        ("version: v0.3.0\nagents:\n  - id: a\nlisteners: []\n"),
        [
            (
                3,
                "agents[0].url",
                "required key is missing: give a url or an app ('package.module:attribute'); "
                "an agent passed in code with PlanoMiddleware(agents={...}) still needs one "
                "here, e.g. its app's import path (the app passed in code takes precedence)",
            ),
        ],
        id="agent-missing-url",
    ),
    pytest.param(
        ("version: v0.3.0\nagents:\n  - id: a\n    url: localhost:8000\nlisteners: []\n"),
        [
            (4, "agents[0].url", "'localhost:8000' is not an http:// or https:// URL with a host"),
        ],
        id="agent-url-scheme",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "agents:\n"
            "  - id: weather\n"
            "    url: http://127.0.0.1:10510\n"
            "filters:\n"
            "  - id: weather\n"
            "    url: http://127.0.0.1:10500\n"
            "listeners:\n"
            "  - type: agent\n"
            "    name: travel\n"
            "    port: 8001\n"
            "    agents:\n"
            "      - id: weather\n"
            "        description: weather questions\n"
        ),
        [
            (
                6,
                "filters[0].id",
                (
                    "duplicate id 'weather' (already used by agents[0]); ids must be "
                    "unique across agents and filters"
                ),
            ),
        ],
        id="duplicate-id-agent-filter",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "filters:\n"
            "  - id: f\n"
            "    url: http://127.0.0.1:1\n"
            "    type: grpc\n"
            "listeners: []\n"
        ),
        [
            (5, "filters[0].type", "'grpc' is not allowed; use 'mcp' or 'http'"),
        ],
        id="filter-bad-type",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners:\n  - name: x\n    port: 1\n"),
        [
            (3, "listeners[0].type", "required key is missing"),
        ],
        id="listener-missing-type",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners:\n  - type: edge\n    name: x\n"),
        [
            (3, "listeners[0].type", "'edge' is not a valid type; use 'agent' or 'model'"),
        ],
        id="listener-bad-type",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners:\n  - type: prompt\n    name: p\n    port: 10000\n"),
        [
            (
                3,
                "listeners[0].type",
                (
                    "prompt listeners are not supported: they serve Plano's prompt "
                    "gateway (function calling over prompt targets), which plano-asgi "
                    "does not include; use 'type: agent' (routing to agents) or 'type: "
                    "model' (model gateway)"
                ),
            ),
        ],
        id="prompt-listener",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners:\n  - type: model\n    name: m\n    port: twelve\n"),
        [
            (5, "listeners[0].port", "expected an integer, got a string"),
        ],
        id="listener-port-string",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners:\n  - type: model\n    name: m\n    port: 70000\n"),
        [
            (5, "listeners[0].port", "must be at most 65535"),
        ],
        id="listener-port-range",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners:\n  - type: model\n    name: m\n    timeout: soon\n"),
        [
            (
                5,
                "listeners[0].timeout",
                ("'soon' is not a duration; use e.g. '30s', '250ms', '5m' or a number of seconds"),
            ),
        ],
        id="listener-bad-timeout",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "agents:\n"
            "  - id: weather\n"
            "    url: http://127.0.0.1:10510\n"
            "listeners:\n"
            "  - type: agent\n"
            "    name: travel\n"
            "    port: 8001\n"
            "    agents:\n"
            "      - id: wether\n"
            "        description: weather questions\n"
        ),
        [
            (
                10,
                "listeners[0].agents[0].id",
                "unknown agent 'wether' (did you mean 'weather'?); declared agents: weather",
            ),
        ],
        id="unknown-listener-agent",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "agents:\n"
            "  - id: weather\n"
            "    url: http://127.0.0.1:10510\n"
            "listeners:\n"
            "  - type: agent\n"
            "    name: travel\n"
            "    port: 8001\n"
            "    agents:\n"
            "      - id: weather\n"
            "        description: weather questions\n"
            "        input_filters: [guard]\n"
        ),
        [
            (
                12,
                "listeners[0].agents[0].input_filters[0]",
                "unknown filter 'guard'; declared filters and agents: weather",
            ),
        ],
        id="unknown-filter-on-agent",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners:\n"
            "  - type: model\n"
            "    name: m\n"
            "    output_filters: [redact]\n"
        ),
        [
            (
                5,
                "listeners[0].output_filters[0]",
                "unknown filter 'redact'; no filters and agents are declared",
            ),
        ],
        id="unknown-filter-on-model-listener",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "agents:\n"
            "  - id: weather\n"
            "    url: http://127.0.0.1:10510\n"
            "  - id: flights\n"
            "    url: http://127.0.0.1:10520\n"
            "listeners:\n"
            "  - type: agent\n"
            "    name: travel\n"
            "    port: 8001\n"
            "    agents:\n"
            "      - id: weather\n"
            "        description: weather questions\n"
            "        default: true\n"
            "      - id: flights\n"
            "        description: flights\n"
            "        default: true\n"
        ),
        [
            (
                17,
                "listeners[0].agents[1].default",
                "only one agent per listener may be the default (agents[0] already is)",
            ),
        ],
        id="two-default-agents",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners:\n  - type: agent\n    name: a\n    port: 8001\n"),
        [
            (3, "listeners[0].agents", "an agent listener needs at least one agent"),
        ],
        id="agent-listener-without-agents",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "agents:\n"
            "  - id: weather\n"
            "    url: http://127.0.0.1:10510\n"
            "listeners:\n"
            "  - type: agent\n"
            "    name: travel\n"
            "    port: 8001\n"
            "    router: smart\n"
            "    agents:\n"
            "      - id: weather\n"
            "        description: weather questions\n"
        ),
        [
            (
                9,
                "listeners[0].router",
                ("'smart' is not allowed; use 'plano_orchestrator_v1', 'local_v1' or 'hybrid_v1'"),
            ),
        ],
        id="unknown-router",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners:\n"
            "  - type: model\n"
            "    name: a\n"
            "    port: 12000\n"
            "  - type: model\n"
            "    name: b\n"
            "    port: 12001\n"
        ),
        [
            (
                6,
                "listeners[1].type",
                "only one listener may have 'type: model' (listeners[0] has it)",
            ),
        ],
        id="two-model-listeners",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners:\n"
            "  - type: model\n"
            "    name: a\n"
            "    port: 12000\n"
            "  - type: agent\n"
            "    name: a\n"
            "    port: 8001\n"
            "    agents:\n"
            "      - id: weather\n"
            "        description: d\n"
            "agents:\n"
            "  - id: weather\n"
            "    url: http://127.0.0.1:10510\n"
        ),
        [
            (
                7,
                "listeners[1].name",
                "duplicate listener name 'a' (listeners[0] has it too); names must be unique",
            ),
        ],
        id="duplicate-listener-names",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "agents:\n"
            "  - id: weather\n"
            "    url: http://127.0.0.1:10510\n"
            "listeners:\n"
            "  - type: agent\n"
            "    name: travel\n"
            "    port: 8001\n"
            "    agents:\n"
            "      - id: weather\n"
            "        description: weather questions\n"
            "  - type: model\n"
            "    name: m\n"
            "    port: 8001\n"
        ),
        [
            (
                14,
                "listeners[1].port",
                "port 8001 is already used by listeners[0]; give each listener its own port",
            ),
        ],
        id="shared-port",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners: []\nmodel_providers:\n  - model: gpt-4o\n"),
        [
            (
                4,
                "model_providers[0].model",
                (
                    "'gpt-4o' needs a provider prefix: write 'provider/model' (e.g. "
                    "'openai/gpt-4o') or 'provider/*'"
                ),
            ),
        ],
        id="provider-without-prefix",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners: []\nmodel_providers:\n  - model: acme/llm-1\n"),
        [
            (
                4,
                "model_providers[0].model",
                (
                    "unknown provider 'acme': add base_url and provider_interface (e.g. "
                    "provider_interface: openai for an OpenAI-compatible server), or "
                    "use a known provider: anthropic, chatgpt, deepseek, digitalocean, "
                    "edenai, gemini, groq, mistral, moonshotai, openai, openrouter, "
                    "together_ai, vercel, xai, xiaomi, zhipu"
                ),
            ),
        ],
        id="provider-unknown-prefix",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners: []\nmodel_providers:\n  - model: ollama/llama3.1\n"),
        [
            (
                4,
                "model_providers[0].base_url",
                (
                    "required key is missing: provider 'ollama' needs a base_url (the "
                    "URL of your server, e.g. http://localhost:11434)"
                ),
            ),
        ],
        id="provider-needs-base-url",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/gpt-4o\n"
            "    provider_interface: openai\n"
        ),
        [
            (
                5,
                "model_providers[0].provider_interface",
                (
                    "'openai' is a known provider, so its interface is implied; remove "
                    "this key (it is only for provider prefixes plano-asgi does not "
                    "know)"
                ),
            ),
        ],
        id="provider-interface-on-known-prefix",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: acme/llm\n"
            "    base_url: http://127.0.0.1:9000\n"
            "    provider: openai\n"
            "    provider_interface: openai\n"
        ),
        [
            (
                6,
                "model_providers[0].provider",
                "use either 'provider_interface' or its legacy synonym 'provider', not both",
            ),
        ],
        id="provider-and-provider-interface",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: acme/llm\n"
            "    base_url: http://127.0.0.1:9000\n"
            "    provider_interface: opnai\n"
        ),
        [
            (
                6,
                "model_providers[0].provider_interface",
                (
                    "'opnai' is not allowed (did you mean 'openai'?); use one of "
                    "anthropic, azure_openai, chatgpt, deepseek, digitalocean, edenai, "
                    "gemini, groq, mistral, moonshotai, openai, openrouter, plano, "
                    "vercel, xiaomi"
                ),
            ),
        ],
        id="provider-bad-interface",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: ollama/llama3.1\n"
            "    base_url: localhost:11434\n"
        ),
        [
            (
                5,
                "model_providers[0].base_url",
                "'localhost:11434' is not an http:// or https:// URL with a host",
            ),
        ],
        id="provider-base-url-scheme",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/gpt-4o\n"
            "    default: true\n"
            "  - model: openai/gpt-4o-mini\n"
            "    default: true\n"
        ),
        [
            (
                7,
                "model_providers[1].default",
                "only one provider may be the default (model_providers[0] already is)",
            ),
        ],
        id="two-default-providers",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/*\n"
            "    default: true\n"
        ),
        [
            (
                5,
                "model_providers[0].default",
                (
                    "a wildcard provider ('provider/*') cannot be the default; make a "
                    "concrete model the default"
                ),
            ),
        ],
        id="wildcard-default",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/gpt-4o\n"
            "    default: true\n"
            "  - model: openai/gpt-4o\n"
            "    name: again\n"
        ),
        [
            (
                6,
                "model_providers[1].model",
                "model 'openai/gpt-4o' is already declared by model_providers[0]",
            ),
        ],
        id="duplicate-model",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/gpt-4o\n"
            "    default: true\n"
            "llm_providers:\n"
            "  - model: openai/gpt-4o\n"
        ),
        [
            (
                6,
                "llm_providers",
                ("use either 'model_providers' or its deprecated alias 'llm_providers', not both"),
            ),
        ],
        id="llm-and-model-providers",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/gpt-4o\n"
            "    default: true\n"
            "model_aliases:\n"
            "  fast:\n"
            "    target: gpt-4o-mni\n"
        ),
        [
            (
                8,
                "model_aliases.fast.target",
                (
                    "unknown model 'gpt-4o-mni' (did you mean 'gpt-4o'?); declared "
                    "models: gpt-4o, openai/gpt-4o"
                ),
            ),
        ],
        id="alias-unknown-target",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/gpt-4o\n"
            "    default: true\n"
            "routing_preferences:\n"
            "  - name: code\n"
            "    description: writing code\n"
            "    models: [openai/gpt-4o]\n"
        ),
        [
            (
                6,
                "routing_preferences",
                (
                    "top-level routing_preferences need 'version: v0.4.0' (this file "
                    "says v0.3.0); set the version, or declare them inline on providers "
                    "(v0.3.0)"
                ),
            ),
        ],
        id="top-level-preferences-need-v040",
    ),
    pytest.param(
        (
            "version: v0.4.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/gpt-4o\n"
            "    default: true\n"
            "routing_preferences:\n"
            "  - name: code\n"
            "    description: writing code\n"
            "    models: [openai/gpt-4o, anthropic/claude]\n"
        ),
        [
            (
                9,
                "routing_preferences[0].models[1]",
                "unknown model 'anthropic/claude'; declared models: gpt-4o, openai/gpt-4o",
            ),
        ],
        id="preference-unknown-model",
    ),
    pytest.param(
        (
            "version: v0.4.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/gpt-4o\n"
            "    default: true\n"
            "routing_preferences:\n"
            "  - name: code\n"
            "    description: writing code\n"
            "    models: [openai/gpt-4o]\n"
            "    selection_policy:\n"
            "      prefer: cheapest\n"
        ),
        [
            (
                11,
                "routing_preferences[0].selection_policy.prefer",
                "'cheapest' needs a 'type: cost' entry in model_metrics_sources",
            ),
        ],
        id="preference-cheapest-needs-cost",
    ),
    pytest.param(
        (
            "version: v0.4.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/gpt-4o\n"
            "    default: true\n"
            "routing_preferences:\n"
            "  - name: code\n"
            "    description: writing code\n"
            "    models: []\n"
        ),
        [
            (9, "routing_preferences[0].models", "needs at least 1 item"),
        ],
        id="preference-empty-models",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/*\n"
            "    routing_preferences:\n"
            "      - name: code\n"
            "        description: writing code\n"
        ),
        [
            (
                5,
                "model_providers[0].routing_preferences",
                (
                    "a wildcard provider ('provider/*') cannot have "
                    "routing_preferences; declare the concrete models that should serve "
                    "them"
                ),
            ),
        ],
        id="wildcard-with-preferences",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "routing:\n"
            "  routing_budget:\n"
            "    max_switch_spend_pct: 150\n"
            "model_metrics_sources:\n"
            "  - type: cost\n"
            "    provider: models.dev\n"
        ),
        [
            (5, "routing.routing_budget.max_switch_spend_pct", "must be at most 100"),
        ],
        id="routing-budget-range",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "routing:\n"
            "  routing_budget:\n"
            "    max_switch_spend_pct: 20\n"
        ),
        [
            (
                4,
                "routing.routing_budget",
                (
                    "a routing budget needs a 'type: cost' entry in "
                    "model_metrics_sources (e.g. provider: models.dev)"
                ),
            ),
        ],
        id="routing-budget-needs-cost-source",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners: []\nrouting:\n  session_cache:\n    type: redis\n"),
        [
            (
                4,
                "routing.session_cache.url",
                (
                    "required key is missing: 'type: redis' needs a url (e.g. "
                    "redis://localhost:6379)"
                ),
            ),
        ],
        id="session-cache-redis-needs-url",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_metrics_sources:\n"
            "  - type: quality\n"
            "    provider: x\n"
        ),
        [
            (
                4,
                "model_metrics_sources[0].type",
                "'quality' is not a valid type; use 'cost' or 'latency'",
            ),
        ],
        id="metrics-source-bad-type",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_metrics_sources:\n"
            "  - type: latency\n"
            "    provider: prometheus\n"
            "    url: http://127.0.0.1:9090\n"
        ),
        [
            (4, "model_metrics_sources[0].query", "required key is missing"),
        ],
        id="latency-source-missing-query",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "tracing:\n"
            "  opentracing_grpc_endpoint: https://collector:4317\n"
        ),
        [
            (
                4,
                "tracing.opentracing_grpc_endpoint",
                "'https://collector:4317' must be an http://host:port URL (scheme http)",
            ),
        ],
        id="tracing-grpc-endpoint-https",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "tracing:\n"
            "  opentracing_grpc_endpoint: http://collector:4317/v1/traces\n"
        ),
        [
            (
                4,
                "tracing.opentracing_grpc_endpoint",
                (
                    "'http://collector:4317/v1/traces' must have no path (e.g. "
                    "http://localhost:4317)"
                ),
            ),
        ],
        id="tracing-grpc-endpoint-path",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners: []\ntracing:\n  random_sampling: 101\n"),
        [
            (4, "tracing.random_sampling", "must be at most 100"),
        ],
        id="tracing-sampling-range",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "tracing:\n"
            "  exporters:\n"
            "    - type: posthog\n"
            "      url: http://127.0.0.1:8000\n"
        ),
        [
            (5, "tracing.exporters[0].api_key", "required key is missing"),
        ],
        id="posthog-exporter-missing-key",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners: []\nstate_storage:\n  type: postgres\n"),
        [
            (
                3,
                "state_storage.connection_string",
                (
                    "required key is missing: 'type: postgres' needs a "
                    "connection_string (e.g. "
                    "postgresql://user:$DB_PASSWORD@host:5432/plano)"
                ),
            ),
        ],
        id="postgres-needs-connection-string",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "ratelimits:\n"
            "  - model: openai/gpt-4o\n"
            "    selector: {key: x-user, value: alice}\n"
            "    limit: {tokens: 1000, unit: week}\n"
        ),
        [
            (
                6,
                "ratelimits[0].limit.unit",
                "'week' is not allowed; use 'second', 'minute', 'hour' or 'day'",
            ),
        ],
        id="ratelimit-bad-unit",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "endpoints:\n"
            "  1st-service:\n"
            "    endpoint: localhost:80\n"
        ),
        [
            (
                4,
                "endpoints.1st-service",
                "endpoint names start with a letter and use only letters, digits and '_'",
            ),
        ],
        id="endpoint-bad-name",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners: []\nprompt_targets:\n  - name: t\n    description: d\n"),
        [
            (
                3,
                "prompt_targets",
                (
                    "prompt targets are not supported: they belong to Plano's prompt "
                    "gateway (function calling over prompt targets), which plano-asgi "
                    "does not include; serve the functions as an agent behind an agent "
                    "listener instead"
                ),
            ),
        ],
        id="prompt-targets",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners: []\nprompt_guards:\n  input_guards: {}\n"),
        [
            (
                3,
                "prompt_guards",
                (
                    "prompt guards are not supported (they belong to Plano's prompt "
                    "gateway); use an input filter on the listener instead"
                ),
            ),
        ],
        id="prompt-guards",
    ),
    pytest.param(
        (
            "version: v0.1\n"
            "listeners:\n"
            "  ingress_traffic:\n"
            "    port: 10000\n"
            "  egress_traffic:\n"
            "    port: 12000\n"
            "llm_providers:\n"
            "  - model: openai/gpt-4o\n"
        ),
        [
            (
                3,
                "listeners.ingress_traffic",
                (
                    "prompt listeners are not supported: they serve Plano's prompt "
                    "gateway (function calling over prompt targets), which plano-asgi "
                    "does not include; use 'type: agent' (routing to agents) or 'type: "
                    "model' (model gateway)"
                ),
            ),
        ],
        id="legacy-ingress-listener",
    ),
    pytest.param(
        ("version: v0.1\nlisteners:\n  egress_traffic:\n    port: 12000\n"),
        [
            (
                2,
                "listeners",
                "the legacy object form of 'listeners' needs at least one model provider",
            ),
        ],
        id="legacy-listeners-need-providers",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/gpt-4o\n"
            "    access_key: $PLANO_TEST_UNSET_KEY\n"
        ),
        [
            (
                5,
                "model_providers[0].access_key",
                (
                    "environment variable 'PLANO_TEST_UNSET_KEY' is not set; set it, "
                    "give a default ('${PLANO_TEST_UNSET_KEY:-value}'), or validate "
                    "with --allow-missing-env"
                ),
            ),
        ],
        id="missing-env-var",
    ),
    pytest.param(
        (
            "version: v0.3.0\n"
            "listeners: []\n"
            "model_providers:\n"
            "  - model: openai/gpt-4o\n"
            "    default: sometimes\n"
        ),
        [
            (5, "model_providers[0].default", "expected true or false, got a string"),
        ],
        id="wrong-type-bool",
    ),
    pytest.param(
        ("version: v0.3.0\nagents: weather\nlisteners: []\n"),
        [
            (2, "agents", "expected a list, got a string"),
        ],
        id="wrong-type-list",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners: []\nlisteners: []\n"),
        [
            (3, "listeners", "duplicate key (also on line 2); YAML keeps only the last one"),
        ],
        id="duplicate-yaml-key",
    ),
    pytest.param(
        ("version: v0.3.0\nlisteners:\n  - type: model\n   name: m\n"),
        [
            (
                4,
                "",
                (
                    "not valid YAML: expected <block end>, but found '<block mapping "
                    "start>' (while parsing a block collection)"
                ),
            ),
        ],
        id="yaml-syntax",
    ),
    pytest.param(
        "- version: v0.3.0\n",
        [
            (1, "", "the config must be a mapping of keys (version, listeners, ...), not a list"),
        ],
        id="top-level-list",
    ),
    pytest.param(
        "",
        [
            (None, "", "the config is empty; it needs at least 'version' and 'listeners'"),
        ],
        id="empty-file",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_invalid_config_reports_path_line_and_message(
    tmp_path: Path, text: str, expected: list[Issue]
) -> None:
    path = tmp_path / "plano_config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert [(issue.line, issue.path, issue.message) for issue in caught.value.issues] == expected
    assert caught.value.source == str(path)


def test_there_are_at_least_25_invalid_cases() -> None:
    assert len(CASES) >= 25
