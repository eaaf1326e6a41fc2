"""Where each provider lives, which wire API it speaks, and how it wants to be authenticated.

Every provider except Anthropic speaks the OpenAI Chat Completions API; they differ only
in host, path prefix and auth header. A ``base_url`` replaces the host, and its path (when
it has one) replaces the default path prefix, as in Plano.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit

from plano_asgi._asgi import client_credential
from plano_asgi.config import ModelProvider

__all__ = ["AZURE_API_VERSION", "HOSTED_API_HOSTS", "Endpoint", "auth_headers", "endpoint_for"]

Api = Literal["openai", "anthropic"]

#: The ``api-version`` sent to Azure OpenAI deployments (Plano's value).
AZURE_API_VERSION = "2025-01-01-preview"
ANTHROPIC_VERSION = "2023-06-01"

# interface -> (origin, default path prefix)
_DEFAULTS: dict[str, tuple[str, str]] = {
    "openai": ("https://api.openai.com", "/v1"),
    "anthropic": ("https://api.anthropic.com", "/v1"),
    "groq": ("https://api.groq.com", "/openai/v1"),
    "mistral": ("https://api.mistral.ai", "/v1"),
    "deepseek": ("https://api.deepseek.com", "/v1"),
    "together_ai": ("https://api.together.xyz", "/v1"),
    "xai": ("https://api.x.ai", "/v1"),
    "gemini": ("https://generativelanguage.googleapis.com", "/v1beta/openai"),
    "openrouter": ("https://openrouter.ai", "/api/v1"),
    "moonshotai": ("https://api.moonshot.ai", "/v1"),
    "zhipu": ("https://open.bigmodel.cn", "/api/paas/v4"),
    "digitalocean": ("https://inference.do-ai.run", "/v1"),
    "vercel": ("https://ai-gateway.vercel.sh", "/v1"),
}
#: Hosts of the hosted APIs above: calls there need a key (see ``plano_asgi.gateway.keys``).
HOSTED_API_HOSTS = frozenset(origin.split("://", 1)[1] for origin, _ in _DEFAULTS.values())
# Providers that always need a base_url; only their default path prefix is known.
_PREFIX_ONLY: dict[str, str] = {
    "ollama": "/v1",
    "vllm": "/v1",
    "plano": "/v1",
    "qwen": "/compatible-mode/v1",
    "azure_openai": "/openai/deployments/{model}",
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The resolved upstream of one provider."""

    api: Api
    origin: str
    """``scheme://host[:port]`` without a trailing slash."""
    prefix: str
    """Path prefix before ``/chat/completions`` or ``/messages``; may hold ``{model}``."""
    auth: Literal["bearer", "x-api-key", "api-key"]
    query: str = ""

    def url(self, model: str) -> str:
        """The full URL of the provider's chat endpoint for ``model``."""
        prefix = self.prefix.replace("{model}", quote(model, safe=""))
        tail = "/messages" if self.api == "anthropic" else "/chat/completions"
        return f"{self.origin}{prefix}{tail}{self.query}"


def endpoint_for(provider: ModelProvider) -> Endpoint | None:
    """The upstream endpoint of ``provider``; ``None`` when it has no known default host."""
    interface = provider.interface
    api: Api = "anthropic" if interface == "anthropic" else "openai"
    auth: Literal["bearer", "x-api-key", "api-key"] = "bearer"
    if api == "anthropic":
        auth = "x-api-key"
    elif interface == "azure_openai":
        auth = "api-key"
    default = _DEFAULTS.get(interface)
    prefix = default[1] if default else _PREFIX_ONLY.get(interface, "/v1")
    query = f"?api-version={AZURE_API_VERSION}" if interface == "azure_openai" else ""
    if provider.base_url:
        parts = urlsplit(provider.base_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        path = parts.path.rstrip("/")
        if path:
            prefix = path
        return Endpoint(api, origin, prefix, auth, query)
    if default is None:
        return None
    return Endpoint(api, default[0], prefix, auth, query)


def auth_headers(
    provider: ModelProvider, endpoint: Endpoint, client_headers: Mapping[str, str]
) -> tuple[dict[str, str], str | None]:
    """Upstream auth and extra headers, plus the secret used (so errors can redact it).

    The header format follows the upstream API (Anthropic: ``x-api-key`` and
    ``anthropic-version``; Azure keys: ``api-key``; everyone else: ``Bearer``). Provider
    ``headers`` are applied last and win.
    """
    headers: dict[str, str] = {}
    secret = client_credential(client_headers) if provider.passthrough_auth else None
    if secret is None:
        secret = provider.access_key
    if secret:
        if endpoint.auth == "bearer":
            headers["authorization"] = f"Bearer {secret}"
        elif endpoint.auth == "api-key":
            headers["api-key"] = secret
        else:
            headers["x-api-key"] = secret
    if endpoint.api == "anthropic":
        headers["anthropic-version"] = client_headers.get("anthropic-version", ANTHROPIC_VERSION)
        beta = client_headers.get("anthropic-beta")
        if beta:
            headers["anthropic-beta"] = beta
    for name, value in provider.headers.items():
        headers[name.lower()] = value
    return headers, secret
