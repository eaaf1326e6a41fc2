"""The provider request for one target: its body, its auth and its forwarded headers.

The client's bytes go out unchanged when the provider speaks the client's API and the
model name needs no rewrite, so the common case costs no re-encoding. Otherwise the body
is rewritten for the target's model, translated between the OpenAI and Anthropic shapes
where the two differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plano_asgi.errors import UpstreamError
from plano_asgi.gateway.keys import missing_key, needs_key
from plano_asgi.gateway.providers import auth_headers
from plano_asgi.gateway.relay import ProviderCall, dumps
from plano_asgi.gateway.resolution import Target
from plano_asgi.telemetry.propagation import inject_headers
from plano_asgi.wire.anthropic import openai_to_anthropic_request
from plano_asgi.wire.anthropic_inbound import anthropic_to_openai_request

if TYPE_CHECKING:
    from plano_asgi.gateway.exchange import Exchange

__all__ = ["prepare_call"]


def prepare_call(
    ex: Exchange, target: Target, body: dict[str, Any], raw: bytes | None
) -> ProviderCall:
    """Build the request for ``target`` from the client's ``body`` (``raw``: its bytes).

    Pass ``raw=None`` once the body no longer matches the client's bytes (an input filter
    changed it). Raises :class:`~plano_asgi.errors.UpstreamError` when the target cannot
    be called at all (no known endpoint, or no key): the caller falls back without trying.
    """
    provider = target.provider
    endpoint = ex.deps.endpoints.get(provider.display_name)
    if endpoint is None:
        raise UpstreamError(
            f"Provider '{target.name}' has no known endpoint; give it a base_url.",
            hop="provider",
            target=target.name,
        )
    if endpoint.api == ex.api:
        if raw is not None and body.get("model") == target.model:
            content = raw
        else:
            content = dumps({**body, "model": target.model})
    elif ex.api == "openai":
        content = dumps(openai_to_anthropic_request(body, target.model))
    else:
        content = dumps(anthropic_to_openai_request(body, target.model))
    headers, secret = auth_headers(provider, endpoint, ex.headers)
    if not secret and needs_key(provider, endpoint):
        raise missing_key(provider, target.name)
    if provider.http_host:
        headers["host"] = provider.http_host  # Host and SNI override
    headers["content-type"] = "application/json"
    headers["accept-encoding"] = "identity"
    if ex.stream:
        headers["accept"] = "text/event-stream"
    headers["x-request-id"] = ex.trace.request_id  # the id the client gets back
    context = ex.llm.context if ex.llm is not None else ex.trace.context
    inject_headers(headers, context, incoming=ex.headers)
    return ProviderCall(
        target,
        endpoint.api,
        endpoint.url(target.model),
        headers,
        content,
        ex.deps.timeouts[provider.display_name],
        ex.redactor.with_secret(secret),
    )
