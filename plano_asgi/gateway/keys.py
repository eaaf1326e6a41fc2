"""Failing fast when a provider has no credential, instead of calling it without one.

A config written as ``access_key: ${OPENAI_API_KEY:-}`` loads fine with the variable unset,
and the provider then answers 401 after a round trip (and our retries). Before any call we
check instead: a provider that has neither an ``access_key`` nor, with
``passthrough_auth``, a credential from the client, nor an auth header among its
``headers``, gets no request at all; the client is told which key to set.

Some providers need no key, and are called without one:

* ``provider_interface`` ``plano``, ``ollama`` or ``vllm`` (local model servers);
* a ``base_url`` on a host other than a hosted provider's public API: loopback, private
  addresses, a self-hosted gateway. Plano likewise exempts custom endpoints. Only calls
  that would go to a known hosted API (the interface's default host, any built-in host,
  or Azure OpenAI) need a key.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from plano_asgi.config import ModelProvider
from plano_asgi.errors import UpstreamError
from plano_asgi.gateway.providers import HOSTED_API_HOSTS, Endpoint

__all__ = ["key_variable", "missing_key", "needs_key"]

_KEYLESS_INTERFACES = frozenset({"plano", "ollama", "vllm"})
_AUTH_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})


def needs_key(provider: ModelProvider, endpoint: Endpoint) -> bool:
    """True when calling ``provider`` without a credential cannot work (see module doc)."""
    if provider.interface in _KEYLESS_INTERFACES:
        return False
    if any(name.lower() in _AUTH_HEADERS for name in provider.headers):
        return False
    host = (urlsplit(endpoint.origin).hostname or "").lower()
    return host in HOSTED_API_HOSTS or host.endswith(".openai.azure.com")


def key_variable(provider: ModelProvider) -> str:
    """The environment variable people usually keep this provider's key in."""
    name = provider.interface.upper().replace("-", "_")
    return {"TOGETHER_AI": "TOGETHER"}.get(name, name) + "_API_KEY"


def missing_key(provider: ModelProvider, target: str) -> UpstreamError:
    """The error for ``target`` (the provider's public name); never contains a secret.

    Status 401, type ``authentication_error``, code ``missing_api_key``: the OpenAI and
    Anthropic SDKs raise their ``AuthenticationError`` for it, which points you at keys,
    and do not retry it. Plano answers 400, which SDKs report as a malformed request
    although the request is fine; the message keeps Plano's words so log searches match.
    """
    variable = key_variable(provider)
    how = f"set its access_key (usually access_key: ${variable}) and make sure {variable} is set"
    if provider.passthrough_auth:
        how = "send your key in the Authorization (or x-api-key) header, or " + how
    return UpstreamError(
        f'No access key configured for selected LLM Provider "{target}": {how}. '
        "The provider was not called.",
        hop="provider",
        target=target,
        status_code=401,
        extra={"type": "authentication_error", "code": "missing_api_key", "provider": target},
    )
