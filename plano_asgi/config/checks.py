"""Checks that need more than one field: references, uniqueness, and rules across blocks.

They run once, at load time, after the models validated, and report into the same
:class:`~plano_asgi.config.issues.IssueCollector` (so one report lists every problem).
Plano's CLI checks some of these; brightstaff some others; a few it never checks and
fails at request time instead (listener agent ids, filter ids): we check them all up front.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from plano_asgi.config.issues import IssueCollector, KeyPath, did_you_mean
from plano_asgi.config.models import AgentListener, StateStorage
from plano_asgi.config.provider_checks import check_model_routing, check_providers
from plano_asgi.config.root import PlanoConfig

__all__ = ["cross_check", "unknown"]

_ENDPOINT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")
_AGENT_TARGET_MISSING = (
    "required key is missing: give a url or an app ('package.module:attribute'); an agent "
    "passed in code with PlanoMiddleware(agents={...}) still needs one here, e.g. its "
    "app's import path (the app passed in code takes precedence)"
)


def cross_check(config: PlanoConfig, issues: IssueCollector) -> None:
    """Check every reference and uniqueness rule of ``config``; report into ``issues``."""
    _check_agents_and_filters(config, issues)
    _check_listeners(config, issues)
    check_providers(config, issues)
    check_model_routing(config, issues)
    _check_misc(config, issues)


def unknown(kind: str, value: str, known: set[str] | list[str]) -> str:
    """``unknown agent 'x' (did you mean 'y'?); declared agents: a, b``."""
    # A filter chain may name a filter or an agent (which then acts as an MCP filter).
    noun = "filters and agents" if kind == "filter" else f"{kind}s"
    listed = f"declared {noun}: {', '.join(sorted(known))}" if known else f"no {noun} are declared"
    return f"unknown {kind} '{value}'{did_you_mean(value, known)}; {listed}"


def _check_agents_and_filters(config: PlanoConfig, issues: IssueCollector) -> None:
    # Ids are unique across agents and filters: a filter chain may name either.
    seen: dict[str, str] = {}
    entries = [("agents", i, a.id) for i, a in enumerate(config.agents)]
    entries += [("filters", i, f.id) for i, f in enumerate(config.filters)]
    for kind, index, item_id in entries:
        if item_id in seen:
            issues.error(
                (kind, index, "id"),
                f"duplicate id '{item_id}' (already used by {seen[item_id]}); ids must be "
                "unique across agents and filters",
            )
        else:
            seen[item_id] = f"{kind}[{index}]"
    for index, agent in enumerate(config.agents):
        if agent.url is None and agent.app is None:
            issues.error(("agents", index, "url"), _AGENT_TARGET_MISSING)
        if agent.url is not None:
            _check_url(agent.url, ("agents", index, "url"), issues)
        if agent.app is not None and ":" not in agent.app:
            issues.error(
                ("agents", index, "app"),
                "expected an import path like 'package.module:attribute'",
            )
    for index, flt in enumerate(config.filters):
        _check_url(flt.url, ("filters", index, "url"), issues)
        if flt.type == "http" and flt.tool is not None:
            issues.warn(("filters", index, "tool"), "ignored: 'tool' applies to MCP filters only")


def _check_listeners(config: PlanoConfig, issues: IssueCollector) -> None:
    if not config.listeners:
        issues.warn(("listeners",), "no listeners: 'plano-asgi serve' would have nothing to serve")
    chain_ids = {agent.id for agent in config.agents} | {flt.id for flt in config.filters}
    agent_ids = {agent.id for agent in config.agents}
    # Entries set aside as invalid were reported already; references to them are not.
    chain_ids_ok = chain_ids | issues.pruned
    agent_ids_ok = agent_ids | issues.pruned
    names: dict[str, int] = {}
    ports: dict[int, int] = {}
    model_listener: int | None = None
    for li, listener in enumerate(config.listeners):
        where: KeyPath = ("listeners", li)
        if listener.name in names:
            issues.error(
                (*where, "name"),
                f"duplicate listener name '{listener.name}' (listeners[{names[listener.name]}] "
                "has it too); names must be unique",
            )
        names.setdefault(listener.name, li)
        if listener.port:  # port 0 means "any free port"
            if listener.port in ports:
                issues.error(
                    (*where, "port"),
                    f"port {listener.port} is already used by listeners[{ports[listener.port]}]; "
                    "give each listener its own port",
                )
            ports.setdefault(listener.port, li)
        for key in ("input_filters", "output_filters"):
            for fi, fid in enumerate(getattr(listener, key)):
                if fid not in chain_ids_ok:
                    issues.error((*where, key, fi), unknown("filter", fid, chain_ids))
        if isinstance(listener, AgentListener):
            _check_agent_listener(listener, where, (agent_ids, agent_ids_ok), chain_ids, issues)
        elif model_listener is not None:
            issues.error(
                (*where, "type"),
                f"only one listener may have 'type: model' (listeners[{model_listener}] has it)",
            )
        else:
            model_listener = li


def _check_agent_listener(
    listener: AgentListener,
    where: KeyPath,
    agents: tuple[set[str], set[str]],
    chain_ids: set[str],
    issues: IssueCollector,
) -> None:
    agent_ids, agent_ids_ok = agents
    if not listener.agents:
        issues.error((*where, "agents"), "an agent listener needs at least one agent")
    defaults = [index for index, agent in enumerate(listener.agents) if agent.default]
    for index in defaults[1:]:
        issues.error(
            (*where, "agents", index, "default"),
            f"only one agent per listener may be the default (agents[{defaults[0]}] already is)",
        )
    seen: set[str] = set()
    for ai, agent in enumerate(listener.agents):
        if agent.id not in agent_ids_ok:
            issues.error((*where, "agents", ai, "id"), unknown("agent", agent.id, agent_ids))
        elif agent.id in seen:
            issues.error(
                (*where, "agents", ai, "id"), f"agent '{agent.id}' is listed twice on this listener"
            )
        seen.add(agent.id)
        for fi, fid in enumerate(agent.input_filters):
            if fid not in chain_ids | issues.pruned:
                issues.error(
                    (*where, "agents", ai, "input_filters", fi), unknown("filter", fid, chain_ids)
                )
    _check_agent_tools(listener, where, seen, issues)


_LISTENER_PATHS = ("/v1/chat/completions", "/v1/models", "/healthz", "/metrics")


def _check_agent_tools(
    listener: AgentListener, where: KeyPath, listed: set[str], issues: IssueCollector
) -> None:
    tools = listener.agent_tools
    for ti, tool in enumerate(tools.agents or ()):
        if tool not in listed:
            issues.error(
                (*where, "agent_tools", "agents", ti),
                f"'{tool}' is not an agent of this listener{did_you_mean(tool, listed)}; "
                f"its agents: {', '.join(sorted(listed)) or 'none'}",
            )
    if tools.enabled and tools.path in _LISTENER_PATHS:
        issues.error(
            (*where, "agent_tools", "path"),
            f"'{tools.path}' is already a listener endpoint; choose another path, e.g. /mcp",
        )


def _check_misc(config: PlanoConfig, issues: IssueCollector) -> None:
    for name, endpoint in config.endpoints.items():
        if not _ENDPOINT_NAME.match(name):
            issues.error(
                ("endpoints", name),
                "endpoint names start with a letter and use only letters, digits and '_'",
            )
        if ":" in endpoint.endpoint:
            port = endpoint.endpoint.rsplit(":", 1)[1]
            if not port.isdigit():
                issues.error(
                    ("endpoints", name, "endpoint"), "expected 'host' or 'host:port' (no scheme)"
                )
    storage = config.state_storage
    if storage is not None and storage.type != "memory" and not storage.connection_string:
        issues.error(
            ("state_storage", "connection_string"),
            f"required key is missing: 'type: {storage.type}' needs a connection_string "
            f"(e.g. {_STORES[storage.type].example})",
        )
    if storage is not None:
        _check_state_storage(storage, issues)
    cache = config.routing.session_cache
    if cache.type == "redis" and not cache.url:
        issues.error(
            ("routing", "session_cache", "url"),
            "required key is missing: 'type: redis' needs a url (e.g. redis://localhost:6379)",
        )
    if config.endpoints:
        issues.warn(
            ("endpoints",),
            "ignored: endpoints are used by prompt targets, which plano-asgi does not support",
        )
    if config.overrides.use_agent_orchestrator:
        issues.warn(
            ("overrides", "use_agent_orchestrator"),
            "ignored: this is Plano's legacy prompt-gateway mode; agent listeners always route",
        )
    if config.mode == "prompt":
        issues.warn(("mode",), "ignored: the prompt gateway is not part of plano-asgi")


def _check_url(url: str, path: KeyPath, issues: IssueCollector) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        issues.error(path, f"'{url}' is not an http:// or https:// URL with a host")


@dataclass(frozen=True, slots=True)
class _Store:
    schemes: tuple[str, ...]
    example: str
    unused: tuple[str, ...]
    """Keys the store has no use for."""
    keeps: str


_STORES = {
    "postgres": _Store(
        ("postgresql", "postgres"),
        "postgresql://user:$DB_PASSWORD@host:5432/plano",
        ("max_entries", "ttl"),
        "postgres keeps responses until you delete them",
    ),
    "redis": _Store(
        ("redis", "rediss", "unix"),
        "redis://:$REDIS_PASSWORD@host:6379/0",
        ("max_entries",),
        "redis keeps each response for ttl, within its own maxmemory policy",
    ),
}


def _check_state_storage(storage: StateStorage, issues: IssueCollector) -> None:
    if storage.type == "memory":
        if storage.connection_string is not None:
            issues.warn(("state_storage", "connection_string"), "ignored with 'type: memory'")
        return
    store = _STORES[storage.type]
    for name in store.unused:
        if name in storage.model_fields_set:
            issues.error(("state_storage", name), f"does not apply here: {store.keeps}")
    dsn = storage.connection_string or ""
    if dsn and "$" not in dsn and urlsplit(dsn).scheme not in store.schemes:
        issues.error(
            ("state_storage", "connection_string"),
            f"expected a {store.schemes[0]}:// URL (e.g. {store.example})",
        )
