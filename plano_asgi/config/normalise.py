"""Legacy forms and out-of-scope features, handled before and after model validation.

Before validation (:func:`prepare`, on plain data) this does what Plano's CLI does to a
config before rendering it: ``llm_providers`` becomes ``model_providers``, the object form of
``listeners`` becomes a list (``egress_traffic`` -> a model listener), and the legacy
synonyms ``provider``, ``filter_chain`` and ``plano_agent_router`` take their current names.
Features plano-asgi does not offer (Plano's prompt gateway: prompt listeners,
``prompt_targets``, ``system_prompt``, ``prompt_guards``) are reported as errors that say so.

After validation (:func:`finish`) the deprecated inline ``routing_preferences`` of
providers are merged into the top-level list, and defaults that depend on other keys are
filled in.
"""

from __future__ import annotations

from typing import Any

from plano_asgi.config.issues import IssueCollector
from plano_asgi.config.models import RoutingPreference
from plano_asgi.config.root import PlanoConfig

__all__ = ["OUT_OF_SCOPE", "finish", "lift_routing_preferences", "prepare"]

_PROMPT_GATEWAY = "Plano's prompt gateway (function calling over prompt targets)"

#: Top-level keys of Plano's schema that plano-asgi rejects, and why.
OUT_OF_SCOPE = {
    "prompt_targets": f"prompt targets are not supported: they belong to {_PROMPT_GATEWAY}, "
    "which plano-asgi does not include; serve the functions as an agent behind an agent "
    "listener instead",
    "system_prompt": f"'system_prompt' is not supported: it belongs to {_PROMPT_GATEWAY}, "
    "which plano-asgi does not include; set the system prompt inside your agent",
    "prompt_guards": "prompt guards are not supported (they belong to Plano's prompt gateway); "
    "use an input filter on the listener instead",
}

_PROMPT_LISTENER = (
    f"prompt listeners are not supported: they serve {_PROMPT_GATEWAY}, which plano-asgi "
    "does not include; use 'type: agent' (routing to agents) or 'type: model' (model gateway)"
)

#: Listener keys Plano's schema accepts on every listener but that apply to one kind only.
_ONLY_FOR = {"agent": ("router", "agents"), "model": ("max_retries",)}

_LEGACY_LISTENER_KEYS = ("address", "port", "message_format", "timeout")


def prepare(data: dict[str, Any], issues: IssueCollector) -> dict[str, Any]:
    """Normalise legacy forms and drop out-of-scope keys (reporting them) from ``data``."""
    data = dict(data)
    for key, why in OUT_OF_SCOPE.items():
        if key in data:
            issues.error((key,), why)
            data.pop(key)
    if "llm_providers" in data:
        if "model_providers" in data:
            issues.error(
                ("llm_providers",),
                "use either 'model_providers' or its deprecated alias 'llm_providers', not both",
            )
        else:
            data["model_providers"] = data["llm_providers"]
            issues.rename(("model_providers",), ("llm_providers",))
            issues.warn(("llm_providers",), "deprecated name; rename it to 'model_providers'")
        data.pop("llm_providers")
    if isinstance(data.get("model_providers"), list):
        data["model_providers"] = [
            _provider(item, index, issues) for index, item in enumerate(data["model_providers"])
        ]
    listeners = data.get("listeners")
    if isinstance(listeners, dict):
        data["listeners"] = _legacy_listeners(listeners, bool(data.get("model_providers")), issues)
    elif isinstance(listeners, list):
        data["listeners"] = _listeners(listeners, issues)
    return data


def _provider(item: Any, index: int, issues: IssueCollector) -> Any:
    if not isinstance(item, dict) or "provider" not in item:
        return item
    item = dict(item)
    where = ("model_providers", index)
    if "provider_interface" in item:
        issues.error(
            (*where, "provider"),
            "use either 'provider_interface' or its legacy synonym 'provider', not both",
        )
        item.pop("provider")
        return item
    item["provider_interface"] = item.pop("provider")
    issues.rename((*where, "provider_interface"), (*where, "provider"))
    return item


def _legacy_listeners(
    listeners: dict[str, Any], has_providers: bool, issues: IssueCollector
) -> list[Any]:
    """Plano's v0.1 ``listeners: {ingress_traffic, egress_traffic}`` as a list of listeners."""
    for key in listeners:
        if key not in ("ingress_traffic", "egress_traffic"):
            issues.error(
                ("listeners", key),
                "unknown key; the legacy object form of 'listeners' takes only "
                "'egress_traffic' and 'ingress_traffic' (or write a list of listeners)",
            )
    if listeners.get("ingress_traffic"):
        issues.error(("listeners", "ingress_traffic"), _PROMPT_LISTENER)
    egress = listeners.get("egress_traffic")
    if egress is None:
        egress = {}
    if not isinstance(egress, dict):
        issues.error(("listeners", "egress_traffic"), "expected a mapping (key: value)")
        return []
    if not has_providers:
        issues.error(
            ("listeners",),
            "the legacy object form of 'listeners' needs at least one model provider",
        )
    egress = dict(egress)
    message_format = egress.pop("message_format", "openai")
    if message_format != "openai":
        issues.error(
            ("listeners", "egress_traffic", "message_format"),
            f"'{message_format}' is not allowed; use 'openai'",
        )
    for key in [k for k in egress if k not in _LEGACY_LISTENER_KEYS]:
        issues.error(
            ("listeners", "egress_traffic", key),
            f"unknown key; allowed keys: {', '.join(_LEGACY_LISTENER_KEYS)}",
        )
        egress.pop(key)
    issues.rename(("listeners", 0), ("listeners", "egress_traffic"))
    issues.warn(
        ("listeners",),
        "deprecated object form; 'egress_traffic' is served as the model listener "
        "'egress_traffic' (write a list of listeners with 'type: model' instead)",
    )
    # Plano's CLI defaults for the converted listener (note the 30s timeout, not 300s).
    return [{"type": "model", "name": "egress_traffic", "port": 12000, "timeout": "30s", **egress}]


def _listeners(listeners: list[Any], issues: IssueCollector) -> list[Any]:
    kept: list[tuple[int, Any]] = []
    for index, listener in enumerate(listeners):
        if isinstance(listener, dict) and listener.get("type") == "prompt":
            issues.error(("listeners", index, "type"), _PROMPT_LISTENER)
            continue
        kept.append((index, listener))
    issues.rename_many(
        (("listeners", new), ("listeners", old)) for new, (old, _) in enumerate(kept)
    )
    return [_listener(listener, new, issues) for new, (_, listener) in enumerate(kept)]


def _listener(listener: Any, index: int, issues: IssueCollector) -> Any:
    if not isinstance(listener, dict):
        return listener
    listener = dict(listener)
    kind = listener.get("type")
    if not isinstance(kind, str):
        return listener  # model validation reports it
    for other, keys in _ONLY_FOR.items():
        if kind in _ONLY_FOR and kind != other:
            for key in keys:
                if key in listener:
                    listener.pop(key)
                    issues.warn(
                        ("listeners", index, key),
                        f"ignored: '{key}' applies to {other} listeners only",
                    )
    if kind == "agent" and listener.get("router") == "plano_agent_router":
        # Plano's docs still show the old name; its schema rejects it. We read it as meant.
        listener["router"] = "plano_orchestrator_v1"
        issues.warn(
            ("listeners", index, "router"),
            "old name; read as 'plano_orchestrator_v1' (Plano's schema rejects it)",
        )
    agents = listener.get("agents")
    if kind == "agent" and isinstance(agents, list):
        listener["agents"] = [
            _listener_agent(agent, (index, ai), issues) for ai, agent in enumerate(agents)
        ]
    return listener


def _listener_agent(agent: Any, where: tuple[int, int], issues: IssueCollector) -> Any:
    if not isinstance(agent, dict) or "filter_chain" not in agent:
        return agent
    agent = dict(agent)
    path = ("listeners", where[0], "agents", where[1])
    if "input_filters" in agent:
        issues.error(
            (*path, "filter_chain"),
            "use either 'input_filters' or its old name 'filter_chain', not both",
        )
        agent.pop("filter_chain")
        return agent
    agent["input_filters"] = agent.pop("filter_chain")
    issues.rename((*path, "input_filters"), (*path, "filter_chain"))
    issues.warn((*path, "filter_chain"), "old name; Plano's schema calls it 'input_filters'")
    return agent


def finish(config: PlanoConfig, issues: IssueCollector) -> PlanoConfig:
    """Resolve what depends on several keys, so readers find plain, complete data."""
    config = lift_routing_preferences(config, issues)
    caching = config.prompt_caching
    if caching.session_ttl_seconds is None:
        ttl = config.routing.session_ttl_seconds
        caching = caching.model_copy(update={"session_ttl_seconds": ttl})
        config = config.model_copy(update={"prompt_caching": caching})
    return config


def lift_routing_preferences(config: PlanoConfig, issues: IssueCollector) -> PlanoConfig:
    """Merge providers' inline ``routing_preferences`` into the top-level list (Plano's CLI).

    The same preference name on several providers becomes one entry whose ``models`` lists
    each provider's full ``provider/model`` in declaration order; the first description
    wins; a top-level entry with the same name wins over inline ones.
    """
    lifted: dict[str, tuple[str, list[str]]] = {}
    for index, provider in enumerate(config.model_providers):
        if not provider.routing_preferences:
            continue
        where = ("model_providers", index, "routing_preferences")
        if provider.is_wildcard:
            issues.error(
                where,
                "a wildcard provider ('provider/*') cannot have routing_preferences; "
                "declare the concrete models that should serve them",
            )
            continue
        issues.warn(
            where,
            "deprecated inline form; lifted to the top-level 'routing_preferences' "
            "(v0.4.0 form: name, description, models)",
        )
        for preference in provider.routing_preferences:
            description, models = lifted.setdefault(preference.name, (preference.description, []))
            if provider.model not in models:
                models.append(provider.model)
    if not lifted:
        return config
    declared = {preference.name for preference in config.routing_preferences}
    extra = tuple(
        RoutingPreference(name=name, description=description, models=tuple(models))
        for name, (description, models) in lifted.items()
        if name not in declared
    )
    return config.model_copy(update={"routing_preferences": config.routing_preferences + extra})
