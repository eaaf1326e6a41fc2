"""Config checks that need more than one field: scope, legacy forms and cross-references."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from plano_asgi.config.models import AgentListener

if TYPE_CHECKING:
    from plano_asgi.config.loader import _RawIssue
    from plano_asgi.config.root import PlanoConfig

__all__ = [
    "BASE_URL_REQUIRED",
    "KNOWN_PROVIDERS",
    "PROVIDER_INTERFACES",
    "cross_check",
    "prepare",
]

#: Prefixes usable without ``base_url`` (Plano's CLI list).
KNOWN_PROVIDERS = frozenset(
    {
        "deepseek", "groq", "mistral", "openai", "xiaomi", "gemini", "anthropic", "together_ai",
        "xai", "moonshotai", "zhipu", "chatgpt", "digitalocean", "vercel", "openrouter", "edenai",
    }
)  # fmt: skip
#: Prefixes that need a ``base_url``.
BASE_URL_REQUIRED = frozenset({"azure_openai", "ollama", "qwen", "amazon_bedrock", "plano", "vllm"})
#: Values of ``provider_interface`` (Plano's, plus ``anthropic`` and ``azure_openai``).
PROVIDER_INTERFACES = frozenset(
    {
        "plano", "deepseek", "groq", "mistral", "openai", "xiaomi", "gemini", "chatgpt",
        "digitalocean", "vercel", "openrouter", "edenai", "moonshotai", "anthropic", "azure_openai",
    }
)  # fmt: skip

_OUT_OF_SCOPE = {
    "prompt_targets": "prompt targets (Plano's legacy function-calling gateway) are not supported "
    "by plano-asgi; use an agent listener with agents instead",
    "system_prompt": "'system_prompt' belongs to prompt targets, which plano-asgi does not support",
    "prompt_guards": "prompt guards are not supported by plano-asgi; use an input filter instead",
}


def prepare(data: dict[str, Any], issues: list[_RawIssue]) -> dict[str, Any]:
    """Reject out-of-scope features and normalise legacy forms, before model validation."""
    from plano_asgi.config.loader import _RawIssue

    data = dict(data)
    for key, why in _OUT_OF_SCOPE.items():
        if key in data:
            issues.append(_RawIssue((key,), why))
            data.pop(key)
    if "llm_providers" in data:
        if "model_providers" in data:
            issues.append(
                _RawIssue(
                    ("llm_providers",),
                    "use either 'model_providers' or its deprecated alias 'llm_providers', "
                    "not both",
                )
            )
        else:
            data["model_providers"] = data["llm_providers"]
        data.pop("llm_providers")
    listeners = data.get("listeners")
    if isinstance(listeners, dict):
        issues.append(
            _RawIssue(
                ("listeners",),
                "the legacy object form of 'listeners' (ingress_traffic/egress_traffic) is not "
                "supported; write a list of listeners with 'type: agent' or 'type: model'",
            )
        )
        data.pop("listeners")
    elif isinstance(listeners, list):
        for index, listener in enumerate(listeners):
            if isinstance(listener, dict) and listener.get("type") == "prompt":
                issues.append(
                    _RawIssue(
                        ("listeners", index, "type"),
                        "prompt listeners are not supported by plano-asgi; "
                        "use 'type: agent' or 'type: model'",
                    )
                )
    return data


def cross_check(config: PlanoConfig, issues: list[_RawIssue]) -> None:
    """Check every reference and uniqueness rule once, at load time."""
    from plano_asgi.config.loader import _RawIssue

    def add(path: tuple[str | int, ...], message: str) -> None:
        issues.append(_RawIssue(path, message))

    # Ids are unique across agents and filters.
    seen: dict[str, str] = {}
    ids = [("agents", i, a.id) for i, a in enumerate(config.agents)]
    ids += [("filters", i, f.id) for i, f in enumerate(config.filters)]
    for kind, index, item_id in ids:
        if item_id in seen:
            add((kind, index, "id"), f"duplicate id '{item_id}' (already used in {seen[item_id]})")
        else:
            seen[item_id] = f"{kind}[{index}]"
    for index, agent in enumerate(config.agents):
        if agent.url is None and agent.app is None:
            add(("agents", index), "an agent needs 'url' (or, in-process, 'app')")
        if agent.url is not None:
            _check_url(agent.url, ("agents", index, "url"), add)
        if agent.app is not None and ":" not in agent.app:
            add(("agents", index, "app"), "expected an import path like 'package.module:attribute'")
    for index, flt in enumerate(config.filters):
        _check_url(flt.url, ("filters", index, "url"), add)
    chain_ids = {agent.id for agent in config.agents} | {flt.id for flt in config.filters}
    agent_ids = {agent.id for agent in config.agents}

    # Listeners.
    names: dict[str, int] = {}
    model_listeners = 0
    for li, listener in enumerate(config.listeners):
        if listener.name in names:
            add(("listeners", li, "name"), f"duplicate listener name '{listener.name}'")
        names.setdefault(listener.name, li)
        for key in ("input_filters", "output_filters"):
            for fi, fid in enumerate(getattr(listener, key)):
                if fid not in chain_ids:
                    add(("listeners", li, key, fi), _unknown("filter", fid, chain_ids))
        if isinstance(listener, AgentListener):
            _check_agent_listener(listener, li, agent_ids, chain_ids, add)
        else:
            model_listeners += 1
            if model_listeners > 1:
                add(("listeners", li, "type"), "at most one listener may have 'type: model'")

    _check_providers(config, add)


def _check_agent_listener(
    listener: AgentListener,
    li: int,
    agent_ids: set[str],
    chain_ids: set[str],
    add: Any,
) -> None:
    if not listener.agents:
        add(("listeners", li, "agents"), "an agent listener needs at least one agent")
    if listener.router == "plano_agent_router":
        add(
            ("listeners", li, "router"),
            "'plano_agent_router' is the old name; "
            "use plano_orchestrator_v1, local_v1 or hybrid_v1",
        )
    defaults = [index for index, agent in enumerate(listener.agents) if agent.default]
    for index in defaults[1:]:
        add(
            ("listeners", li, "agents", index, "default"),
            f"only one agent per listener may be the default (agents[{defaults[0]}] already is)",
        )
    seen: set[str] = set()
    for ai, agent in enumerate(listener.agents):
        if agent.id not in agent_ids:
            add(("listeners", li, "agents", ai, "id"), _unknown("agent", agent.id, agent_ids))
        if agent.id in seen:
            add(("listeners", li, "agents", ai, "id"), f"agent '{agent.id}' is listed twice")
        seen.add(agent.id)
        for fi, fid in enumerate(agent.input_filters):
            if fid not in chain_ids:
                add(
                    ("listeners", li, "agents", ai, "input_filters", fi),
                    _unknown("filter", fid, chain_ids),
                )


def _check_providers(config: PlanoConfig, add: Any) -> None:
    names: dict[str, int] = {}
    full_models: dict[str, int] = {}
    defaults: list[int] = []
    for index, provider in enumerate(config.model_providers):
        where = ("model_providers", index)
        if "/" not in provider.model:
            add(
                (*where, "model"),
                f"'{provider.model}' has no provider prefix; write it as 'provider/model', "
                f"e.g. 'openai/{provider.model}'",
            )
            continue
        name = provider.display_name
        if name in names:
            add((*where, "name"), f"duplicate provider name '{name}'")
        names.setdefault(name, index)
        if not provider.is_wildcard:
            if provider.model in full_models:
                add((*where, "model"), f"model '{provider.model}' is declared twice")
            full_models.setdefault(provider.model, index)
        if provider.default:
            defaults.append(index)
            if provider.is_wildcard:
                add((*where, "default"), "a wildcard provider ('provider/*') cannot be the default")
        prefix = provider.prefix
        if provider.base_url is not None:
            url = urlsplit(provider.base_url)
            if url.scheme not in ("http", "https") or not url.netloc:
                add((*where, "base_url"), "must be an http:// or https:// URL with a host")
        if provider.provider_interface is not None:
            if prefix in KNOWN_PROVIDERS:
                add(
                    (*where, "provider_interface"),
                    f"'{prefix}' is a supported provider; remove provider_interface",
                )
            elif provider.provider_interface not in PROVIDER_INTERFACES:
                add(
                    (*where, "provider_interface"),
                    f"must be one of {', '.join(sorted(PROVIDER_INTERFACES))}",
                )
        if prefix in BASE_URL_REQUIRED and provider.base_url is None:
            add((*where, "base_url"), f"provider '{prefix}' needs a base_url")
        elif (
            prefix not in KNOWN_PROVIDERS
            and prefix not in BASE_URL_REQUIRED
            and (provider.base_url is None or provider.provider_interface is None)
        ):
            add(
                (*where, "model"),
                f"unknown provider '{prefix}': set base_url and provider_interface, or use one of "
                f"{', '.join(sorted(KNOWN_PROVIDERS))}",
            )
    for index in defaults[1:]:
        add(
            ("model_providers", index, "default"),
            f"only one provider may be the default (model_providers[{defaults[0]}] already is)",
        )

    # Aliases point at declared, non-wildcard models (full string, name or bare id).
    known: set[str] = set()
    for provider in config.model_providers:
        if "/" in provider.model and not provider.is_wildcard:
            known.update({provider.model, provider.model_id, provider.display_name})
    wildcards = {p.prefix for p in config.model_providers if "/" in p.model and p.is_wildcard}
    for alias, spec in config.model_aliases.items():
        for ti, target in enumerate(spec.targets):
            if target in known:
                continue
            if "/" in target and target.split("/", 1)[0] in wildcards:
                continue  # ours: reachable through a wildcard provider
            path: tuple[str | int, ...] = ("model_aliases", alias, "target")
            if not isinstance(spec.target, str):
                path = (*path, ti)
            add(path, _unknown("model", target, known))


def _check_url(url: str, path: tuple[str | int, ...], add: Any) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        add(path, f"'{url}' is not an http:// or https:// URL with a host")


def _unknown(kind: str, value: str, known: set[str]) -> str:
    listed = ", ".join(sorted(known)) if known else "none declared"
    return f"unknown {kind} '{value}' (declared: {listed})"
