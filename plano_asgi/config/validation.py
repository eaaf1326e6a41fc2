"""Model validation that reports every error and still cross-checks what is valid.

pydantic reports all type errors of a config at once, but then there is no config to
cross-check. So after reporting them, the invalid entries (a listener, a provider, a whole
``tracing`` block) are set aside and the rest is validated again: one run shows type errors
and broken references together. References to entries set aside are not reported again.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from plano_asgi.config.explain import error_paths, report_validation_error
from plano_asgi.config.issues import IssueCollector, KeyPath
from plano_asgi.config.root import PlanoConfig

__all__ = ["validate_data"]

_KNOWN = frozenset(PlanoConfig.model_fields)

#: Top-level keys holding lists or maps of independent entries: an invalid entry is set
#: aside (after being reported) so the cross-checks can still run on the others.
_ENTRY_SECTIONS = frozenset(
    {
        "agents", "filters", "listeners", "model_providers", "routing_preferences",
        "model_metrics_sources", "ratelimits", "endpoints", "model_aliases",
    }
)  # fmt: skip
_OPTIONAL_SECTIONS = frozenset(
    {"overrides", "routing", "prompt_caching", "tracing", "state_storage"}
)


def validate_data(data: dict[str, Any], issues: IssueCollector) -> PlanoConfig | None:
    """Validate ``data``; on errors, report them and validate again without the bad entries.

    The second pass gives the cross-checks a config to work on, so one report lists type
    errors and reference errors together. Returns None when nothing sensible is left
    (e.g. ``version`` itself is wrong).
    """
    try:
        return PlanoConfig.model_validate(data)
    except ValidationError as exc:
        report_validation_error(exc, PlanoConfig, data, issues)
        paths = error_paths(exc, data)
    pruned = _prune(data, paths, issues)
    if pruned is None:
        return None
    try:
        return PlanoConfig.model_validate(pruned)
    except ValidationError:
        return None


def _prune(
    data: dict[str, Any], paths: list[KeyPath], issues: IssueCollector
) -> dict[str, Any] | None:
    drop_keys: set[str] = set()
    drop_items: dict[str, set[Any]] = {}
    for path in paths:
        section = path[0] if path else None
        if not isinstance(section, str) or section not in data:
            return None  # a missing or invalid required key (version, listeners)
        if section in _ENTRY_SECTIONS and len(path) >= 2:
            drop_items.setdefault(section, set()).add(path[1])
        elif section in _ENTRY_SECTIONS or section in _OPTIONAL_SECTIONS or section not in _KNOWN:
            drop_keys.add(section)
        else:
            return None
    out = {key: value for key, value in data.items() if key not in drop_keys}
    for section, bad in drop_items.items():
        if section in drop_keys:
            continue
        value = out[section]
        if isinstance(value, list):
            kept = [(i, item) for i, item in enumerate(value) if i not in bad]
            for _, item in [(i, item) for i, item in enumerate(value) if i in bad]:
                _remember(section, item, issues)
            issues.rename_many(
                ((section, new), (section, old)) for new, (old, _) in enumerate(kept)
            )
            out[section] = [item for _, item in kept]
        elif isinstance(value, dict):
            out[section] = {key: item for key, item in value.items() if key not in bad}
    return out


def _remember(section: str, item: Any, issues: IssueCollector) -> None:
    """Note the id of an entry set aside, so references to it are not reported as unknown."""
    if not isinstance(item, dict):
        return
    for key in ("id", "name", "model"):
        value = item.get(key)
        if isinstance(value, str) and (section != "listeners"):
            issues.pruned.add(value)
            if key == "model" and "/" in value:
                issues.pruned.add(value.split("/", 1)[1])
