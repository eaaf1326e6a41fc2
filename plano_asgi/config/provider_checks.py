"""Cross-checks of ``model_providers``, ``model_aliases`` and the model-routing blocks.

The provider rules follow Plano's CLI (a provider prefix it knows needs nothing more; some
need a ``base_url``; any other prefix needs ``base_url`` and ``provider_interface``).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from plano_asgi.config.issues import IssueCollector, did_you_mean
from plano_asgi.config.root import PlanoConfig

__all__ = [
    "BASE_URL_REQUIRED",
    "KNOWN_PROVIDERS",
    "PROVIDER_INTERFACES",
    "check_model_routing",
    "check_providers",
]

#: Prefixes usable without ``base_url`` (Plano's CLI list).
KNOWN_PROVIDERS = frozenset(
    {
        "deepseek", "groq", "mistral", "openai", "xiaomi", "gemini", "anthropic", "together_ai",
        "xai", "moonshotai", "zhipu", "chatgpt", "digitalocean", "vercel", "openrouter", "edenai",
    }
)  # fmt: skip
#: Prefixes that need a ``base_url`` (Plano's list, plus *ours*: ``vllm``).
BASE_URL_REQUIRED = frozenset({"azure_openai", "ollama", "qwen", "amazon_bedrock", "plano", "vllm"})
#: Values of ``provider_interface``: Plano's, plus *ours*: ``anthropic`` and ``azure_openai``.
PROVIDER_INTERFACES = frozenset(
    {
        "plano", "deepseek", "groq", "mistral", "openai", "xiaomi", "gemini", "chatgpt",
        "digitalocean", "vercel", "openrouter", "edenai", "moonshotai", "anthropic", "azure_openai",
    }
)  # fmt: skip

_V040 = "v0.4.0"


def check_providers(config: PlanoConfig, issues: IssueCollector) -> None:
    """Provider names, models, prefixes, URLs and the single default; then the aliases."""
    names: dict[str, int] = {}
    keys: dict[str, int] = {}
    defaults: list[int] = []
    for index, provider in enumerate(config.model_providers):
        where = ("model_providers", index)
        if "/" not in provider.model or not provider.model_id or not provider.prefix:
            issues.error(
                (*where, "model"),
                f"'{provider.model}' needs a provider prefix: write 'provider/model' (e.g. "
                f"'openai/{provider.model.strip('/') or 'gpt-4o'}') or 'provider/*'",
            )
            continue
        name = provider.display_name
        if name in names:
            issues.error(
                (*where, "name" if provider.name else "model"),
                f"duplicate provider name '{name}' (model_providers[{names[name]}] has it); "
                "give each provider a unique 'name'",
            )
        names.setdefault(name, index)
        if not provider.is_wildcard:
            # Clients may ask for 'openai/gpt-4o' or just 'gpt-4o': both must be unambiguous,
            # unless the provider has its own base_url (several accounts of one model).
            for key in (provider.model, provider.model_id):
                if key in keys and (key == provider.model or provider.base_url is None):
                    issues.error(
                        (*where, "model"),
                        f"model '{key}' is already declared by model_providers[{keys[key]}]",
                    )
                    break
            for key in (provider.model, provider.model_id):
                keys.setdefault(key, index)
        if provider.default:
            defaults.append(index)
            if provider.is_wildcard:
                issues.error(
                    (*where, "default"),
                    "a wildcard provider ('provider/*') cannot be the default; "
                    "make a concrete model the default",
                )
        _check_prefix(
            provider.prefix, provider.base_url, provider.provider_interface, where, issues
        )
        if provider.passthrough_auth and provider.access_key:
            issues.warn(
                (*where, "access_key"),
                "ignored: passthrough_auth forwards the client's credential instead",
            )
    for index in defaults[1:]:
        issues.error(
            ("model_providers", index, "default"),
            f"only one provider may be the default (model_providers[{defaults[0]}] already is)",
        )
    _check_aliases(config, issues)


def _check_prefix(
    prefix: str,
    base_url: str | None,
    interface: str | None,
    where: tuple[str | int, ...],
    issues: IssueCollector,
) -> None:
    if base_url is not None:
        try:
            url = urlsplit(base_url)
            valid = url.scheme in ("http", "https") and bool(url.hostname)
        except ValueError:
            valid = False
        if not valid:
            issues.error(
                (*where, "base_url"), f"'{base_url}' is not an http:// or https:// URL with a host"
            )
    if interface is not None:
        if prefix in KNOWN_PROVIDERS:
            issues.error(
                (*where, "provider_interface"),
                f"'{prefix}' is a known provider, so its interface is implied; remove this key "
                "(it is only for provider prefixes plano-asgi does not know)",
            )
        elif interface not in PROVIDER_INTERFACES:
            issues.error(
                (*where, "provider_interface"),
                f"'{interface}' is not allowed{did_you_mean(interface, PROVIDER_INTERFACES)}; "
                f"use one of {', '.join(sorted(PROVIDER_INTERFACES))}",
            )
    if prefix in BASE_URL_REQUIRED:
        if base_url is None:
            issues.error(
                (*where, "base_url"),
                f"required key is missing: provider '{prefix}' needs a base_url "
                "(the URL of your server, e.g. http://localhost:11434)",
            )
    elif prefix not in KNOWN_PROVIDERS and (base_url is None or interface is None):
        missing = " and ".join(
            key
            for key, value in (("base_url", base_url), ("provider_interface", interface))
            if value is None
        )
        issues.error(
            (*where, "model"),
            f"unknown provider '{prefix}'{did_you_mean(prefix, KNOWN_PROVIDERS)}: add {missing} "
            f"(e.g. provider_interface: openai for an OpenAI-compatible server), or use a known "
            f"provider: {', '.join(sorted(KNOWN_PROVIDERS))}",
        )


def _declared_models(config: PlanoConfig) -> tuple[set[str], set[str]]:
    """(names a request may use for a concrete model, prefixes served by a wildcard)."""
    known: set[str] = set()
    wildcards: set[str] = set()
    for provider in config.model_providers:
        if "/" not in provider.model:
            continue
        if provider.is_wildcard:
            wildcards.add(provider.prefix)
        else:
            known.update({provider.model, provider.model_id, provider.display_name})
    return known, wildcards


def _reachable(model: str, known: set[str], wildcards: set[str], pruned: set[str]) -> bool:
    # ``pruned``: providers set aside as invalid (reported already); don't report twice.
    if model in known or model in pruned:
        return True
    return "/" in model and model.split("/", 1)[0] in wildcards


def _check_aliases(config: PlanoConfig, issues: IssueCollector) -> None:
    known, wildcards = _declared_models(config)
    for alias, spec in config.model_aliases.items():
        for ti, target in enumerate(spec.targets):
            # Plano needs a declared concrete model; *ours*: 'openai/x' under 'openai/*' too.
            if _reachable(target, known, wildcards, issues.pruned):
                continue
            path: tuple[str | int, ...] = ("model_aliases", alias, "target")
            if not isinstance(spec.target, str):
                path = (*path, ti)
            issues.error(path, _unknown_model(target, known))


def _unknown_model(model: str, known: Iterable[str]) -> str:
    names = sorted(known)
    listed = ", ".join(names) if names else "no concrete models are declared"
    return f"unknown model '{model}'{did_you_mean(model, names)}; declared models: {listed}"


def check_model_routing(config: PlanoConfig, issues: IssueCollector) -> None:
    """Top-level routing preferences, metrics sources and the routing budget."""
    if config.routing_preferences and config.version != _V040:
        issues.error(
            ("routing_preferences",),
            f"top-level routing_preferences need 'version: {_V040}' (this file says "
            f"{config.version}); set the version, or declare them inline on providers (v0.3.0)",
        )
    known, wildcards = _declared_models(config)
    seen: dict[str, int] = {}
    for index, preference in enumerate(config.routing_preferences):
        where = ("routing_preferences", index)
        if preference.name in seen:
            issues.error(
                (*where, "name"),
                f"duplicate routing preference '{preference.name}' "
                f"(routing_preferences[{seen[preference.name]}] has it)",
            )
        seen.setdefault(preference.name, index)
        for mi, model in enumerate(preference.models):
            if not _reachable(model, known, wildcards, issues.pruned):
                issues.error((*where, "models", mi), _unknown_model(model, known))
        prefer = preference.selection_policy.prefer if preference.selection_policy else None
        if prefer == "cheapest" and config.cost_source is None:
            issues.error(
                (*where, "selection_policy", "prefer"),
                "'cheapest' needs a 'type: cost' entry in model_metrics_sources",
            )
        if prefer == "fastest" and config.latency_source is None:
            issues.error(
                (*where, "selection_policy", "prefer"),
                "'fastest' needs a 'type: latency' entry in model_metrics_sources",
            )
    kinds: dict[str, int] = {}
    for index, source in enumerate(config.model_metrics_sources):
        if source.type in kinds:
            issues.error(
                ("model_metrics_sources", index, "type"),
                f"only one '{source.type}' source is allowed "
                f"(model_metrics_sources[{kinds[source.type]}] is one)",
            )
        kinds.setdefault(source.type, index)
    if config.routing.routing_budget is not None and config.cost_source is None:
        issues.error(
            ("routing", "routing_budget"),
            "a routing budget needs a 'type: cost' entry in model_metrics_sources "
            "(e.g. provider: models.dev)",
        )
