"""``plano_orchestrator_v1``: ask an LLM (a Plano-Orchestrator model, or any OpenAI-compatible
chat model) which agents should handle the turn.

The model is the one named by ``overrides.agent_orchestration_model``, resolved among
``model_providers`` the way Plano does it: the first path segment of the override is dropped
and matched against a provider's model id; a provider's name or full model string also
matches. It is called at ``<base_url>/v1/chat/completions`` (a path in ``base_url`` replaces
``/v1``) with the provider's ``access_key`` as a bearer token, with one user message holding
the routing prompt and temperature 0.01, under its own timeout
(``overrides.orchestrator_timeout``). Client headers are never sent to it; the trace context
of the *current* span (the listener's routing span) is, so the call joins the request's trace.

Unlike Plano, nothing here is fatal for the client's request: every failure is a
:class:`~plano_asgi.errors.RoutingError` and the listener falls back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2

from plano_asgi.chat import ChatMessage, message_text
from plano_asgi.config import ModelProvider, PlanoConfig
from plano_asgi.errors import (
    ConfigError,
    ConfigIssue,
    OutboundBodyTooLargeError,
    OutboundError,
    RoutingError,
)
from plano_asgi.outbound import HttpClient, Phases, as_http_client
from plano_asgi.outbound.seam import MAX_READ_BYTES, read_all
from plano_asgi.routing.base import AgentCandidate, RouteDecision
from plano_asgi.routing.prompt import DEFAULT_TEMPLATE, RoutingPrompt, parse_routes
from plano_asgi.telemetry.propagation import inject_headers

__all__ = ["OrchestratorEndpoint", "OrchestratorRouter", "resolve_orchestrator"]

logger = logging.getLogger("plano_asgi.routing")

#: Where well-known OpenAI-compatible providers live when no ``base_url`` is given.
_KNOWN_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "groq": "https://api.groq.com/openai/v1",
    "mistral": "https://api.mistral.ai/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "together_ai": "https://api.together.xyz/v1",
    "xai": "https://api.x.ai/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "gemini": "https://generativelanguage.googleapis.com/v1beta/openai",
}

TEMPERATURE = 0.01


@dataclass(frozen=True, slots=True)
class OrchestratorEndpoint:
    """Where and how to call the router model."""

    url: str
    """Full ``.../chat/completions`` URL."""
    model: str
    """The ``model`` sent in the body."""
    api_key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0

    def __repr__(self) -> str:  # never show the key
        return f"OrchestratorEndpoint(url={self.url!r}, model={self.model!r})"


def resolve_orchestrator(config: PlanoConfig, model: str | None = None) -> OrchestratorEndpoint:
    """The endpoint for the orchestrator model named in ``config`` (or ``model``).

    Raises :class:`ConfigError` when no provider matches or it has no usable URL.
    """
    wanted = model or config.orchestrator_model
    if not wanted:
        raise _config_error(
            "no orchestrator model configured (overrides.agent_orchestration_model)"
        )
    provider = _find_provider(config.model_providers, wanted)
    if provider is None:
        declared = ", ".join(p.model for p in config.model_providers) or "none"
        raise _config_error(
            f"the orchestrator model '{wanted}' matches no model_providers entry "
            f"(declared: {declared}); declare it with a base_url"
        )
    return OrchestratorEndpoint(
        url=_chat_url(provider),
        model=provider.model_id,
        api_key=provider.access_key,
        headers=dict(provider.headers),
        timeout=config.overrides.orchestrator_timeout,
    )


def _find_provider(providers: Sequence[ModelProvider], wanted: str) -> ModelProvider | None:
    stripped = wanted.split("/", 1)[1] if "/" in wanted else wanted
    for provider in providers:
        if not provider.is_wildcard and provider.model_id == stripped:
            return provider
    for provider in providers:
        if wanted in (provider.name, provider.model, provider.model_id):
            return provider
    return None


def _chat_url(provider: ModelProvider) -> str:
    base = provider.base_url or _KNOWN_BASE_URLS.get(provider.interface)
    if base is None:
        raise _config_error(
            f"the orchestrator provider '{provider.display_name}' needs a base_url "
            "(an OpenAI-compatible endpoint)"
        )
    base = base.rstrip("/")
    if urlsplit(base).path in ("", "/"):
        base += "/v1"
    return base + "/chat/completions"


def _config_error(message: str) -> ConfigError:
    return ConfigError([ConfigIssue(path="overrides.agent_orchestration_model", message=message)])


class OrchestratorRouter:
    """Routes with an orchestrator LLM. Build it with :meth:`from_config`.

    ``client`` is an :class:`~plano_asgi.outbound.HttpClient` or an ``httpx2.AsyncClient``;
    you keep ownership of it; this router never closes it.
    """

    name = "plano_orchestrator_v1"

    def __init__(
        self,
        endpoint: OrchestratorEndpoint,
        *,
        client: httpx2.AsyncClient | HttpClient,
        prompt: RoutingPrompt | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.prompt = prompt or RoutingPrompt()
        self._client = as_http_client(client)

    @classmethod
    def from_config(
        cls, config: PlanoConfig, *, client: httpx2.AsyncClient | HttpClient
    ) -> OrchestratorRouter:
        """The router for ``config``'s orchestrator model and prompt overrides."""
        overrides = config.overrides
        template = DEFAULT_TEMPLATE
        if overrides.orchestrator_prompt_path:
            path = Path(overrides.orchestrator_prompt_path)
            if not path.is_absolute() and config.source is not None:
                path = config.source.parent / path
            try:
                template = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    [ConfigIssue("overrides.orchestrator_prompt_path", f"cannot read: {exc}")]
                ) from None
        try:
            prompt = RoutingPrompt(template, overrides.orchestrator_model_context_length)
        except ValueError as exc:
            raise ConfigError(
                [ConfigIssue("overrides.orchestrator_prompt_path", str(exc))]
            ) from None
        return cls(resolve_orchestrator(config), client=client, prompt=prompt)

    async def route(
        self, messages: Sequence[ChatMessage], agents: Sequence[AgentCandidate]
    ) -> RouteDecision:
        """Ask the model; raise :class:`RoutingError` on any failure."""
        if not any(m.role == "user" and m.text for m in messages):
            return RouteDecision(agents=(), router=self.name)
        body = {
            "messages": [{"role": "user", "content": self.prompt.build(messages, agents)}],
            "model": self.endpoint.model,
            "temperature": TEMPERATURE,
        }
        content = await self._call(body)
        chosen = parse_routes(content, [agent.id for agent in agents])
        return RouteDecision(agents=chosen, router=self.name)

    async def _call(self, body: dict[str, Any]) -> str | None:
        endpoint = self.endpoint
        headers = {"content-type": "application/json", **endpoint.headers}
        if endpoint.api_key:
            headers["authorization"] = f"Bearer {endpoint.api_key}"
        # The Router protocol takes no context: the current span (the listener's routing
        # span) is the parent of this call.
        inject_headers(headers)
        phases = Phases(connect=endpoint.timeout, read=endpoint.timeout)
        payload = json.dumps(body, separators=(",", ":")).encode()
        try:
            with anyio.fail_after(endpoint.timeout):
                async with self._client.open(
                    "POST", endpoint.url, headers=headers, body=payload, phases=phases
                ) as reply:
                    status = reply.status
                    content = await read_all(reply)
        except TimeoutError:
            raise RoutingError(f"timed out after {endpoint.timeout:g}s") from None
        except OutboundBodyTooLargeError:
            raise RoutingError(f"answered more than {MAX_READ_BYTES} bytes") from None
        except OutboundError as exc:
            raise RoutingError(f"unreachable ({exc.what})") from None
        if status >= 300:
            raise RoutingError(f"answered HTTP {status}: {_error_text(content)}")
        try:
            data = json.loads(content)
        except ValueError:
            raise RoutingError("answered something that is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise RoutingError("answered JSON that is not a chat completion")
        choices = data["choices"]
        if not choices:
            return None
        message = choices[0].get("message") if isinstance(choices[0], dict) else None
        if not isinstance(message, dict):
            raise RoutingError("answered a chat completion without a message")
        return message_text(message.get("content"))


def _error_text(content: bytes) -> str:
    try:
        error = json.loads(content).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])[:200]
    return content.decode("utf-8", "replace")[:200].replace("\n", " ")
