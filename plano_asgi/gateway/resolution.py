"""Model resolution: turn the ``model`` a client asked for into provider targets to try.

The order follows Plano (spec §4.2 step 4), with three differences of ours:

* an alias may list several targets; they are tried in order (fallbacks);
* an alias may point at a model reachable only through a wildcard provider;
* a request without ``model`` goes to the ``default: true`` provider.

Each name is looked up as: provider ``name`` or bare model id, then the full
``provider/id`` string, then the part after the first ``/`` as a bare id, then a wildcard
provider for the prefix (``openai/*`` serves any ``openai/<x>``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from plano_asgi.config import ModelProvider, PlanoConfig
from plano_asgi.errors import ModelNotFoundError, RequestError

__all__ = ["ModelResolver", "Target"]


@dataclass(frozen=True, slots=True)
class Target:
    """One provider call: which provider, and the model id to send upstream."""

    provider: ModelProvider
    model: str
    """The upstream model id (no provider prefix)."""

    @property
    def name(self) -> str:
        """The provider's public name (used in errors, logs and rate-limit keys)."""
        if self.provider.is_wildcard:
            return f"{self.provider.prefix}/{self.model}"
        return self.provider.display_name


class ModelResolver:
    """Resolves model names against a config's providers and aliases, built once at startup."""

    def __init__(self, config: PlanoConfig) -> None:
        self._keys: dict[str, ModelProvider] = {}
        self._full: dict[str, ModelProvider] = {}
        self._wildcards: dict[str, ModelProvider] = {}
        self._internal: set[str] = set()
        self._aliases = {alias: spec.targets for alias, spec in config.model_aliases.items()}
        orchestrator = config.orchestrator_model
        orchestrator_id = orchestrator.split("/", 1)[-1] if orchestrator else None
        for provider in config.model_providers:
            if provider.is_wildcard:
                self._wildcards.setdefault(provider.prefix, provider)
                continue
            if provider.interface == "plano" and provider.model_id == orchestrator_id:
                self._internal.add(provider.display_name)
            self._full.setdefault(provider.model, provider)
            self._keys.setdefault(provider.display_name, provider)
        for provider in config.model_providers:
            if not provider.is_wildcard:
                self._keys.setdefault(provider.model_id, provider)
        self._default = config.default_provider

    def resolve(self, model: str | None) -> tuple[Target, ...]:
        """The targets to try for ``model``, in order (never empty).

        Raises :class:`ModelNotFoundError` (404) naming what is available.
        """
        if not model:
            if self._default is None:
                raise RequestError(
                    "The request has no 'model' and no provider is marked 'default: true'. "
                    f"Available models: {', '.join(self.available())}.",
                    code="model_required",
                    param="model",
                )
            return (Target(self._default, self._default.model_id),)
        names = self._aliases.get(model, (model,))
        targets = []
        for name in names:
            target = self._lookup(name)
            if target is None:
                raise ModelNotFoundError(
                    name if name == model else f"{name} (alias {model})", self.available()
                )
            targets.append(target)
        return tuple(targets)

    def _lookup(self, name: str) -> Target | None:
        provider = self._keys.get(name) or self._full.get(name)
        if provider is not None:
            return Target(provider, provider.model_id)
        prefix, sep, rest = name.partition("/")
        if not sep or not rest:
            return None
        provider = self._keys.get(rest)
        if provider is not None and provider.prefix == prefix:
            return Target(provider, provider.model_id)
        wildcard = self._wildcards.get(prefix)
        if wildcard is not None:
            return Target(wildcard, rest)
        return None

    def available(self) -> list[str]:
        """Every name a client may ask for: providers, wildcards (``openai/*``) and aliases."""
        names = set(self._public_providers())
        names.update(f"{prefix}/*" for prefix in self._wildcards)
        names.update(self._aliases)
        return sorted(names)

    def listed(self) -> list[tuple[str, str]]:
        """``(id, owned_by)`` for ``/v1/models``: providers and aliases, sorted, no internals."""
        rows = [(name, provider.prefix) for name, provider in self._public_providers().items()]
        rows.extend((alias, "alias") for alias in self._aliases)
        return sorted(rows)

    def _public_providers(self) -> dict[str, ModelProvider]:
        return {
            name: provider
            for name, provider in _named(self._keys.items())
            if name not in self._internal
        }


def _named(items: Iterable[tuple[str, ModelProvider]]) -> Iterable[tuple[str, ModelProvider]]:
    # Only each provider's public name, not the bare-id duplicate keys.
    return ((key, provider) for key, provider in items if key == provider.display_name)
