"""The chat request your handler receives: Plano's agent-facing body, typed.

:class:`AgentRequest` is :class:`plano_asgi.chat.ChatRequest` (messages, model, stream,
temperature, max_tokens, every other field kept as sent) plus the few questions an agent
asks of it: the latest user turn, the system prompt, what earlier agents of a Plano chain
said (assistant messages named after their agent id, spec §2.6), and the messages in the
shape ``ctx.llm.chat.completions.create`` takes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from plano_asgi.chat import ChatRequest, parse_chat_request

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

__all__ = ["AgentRequest", "parse_agent_request"]


class AgentRequest(ChatRequest):
    """A validated ``POST /v1/chat/completions`` body, with helpers for agent code."""

    @property
    def system_prompt(self) -> str:
        """The text of all ``system``/``developer`` messages joined by blank lines ("" if none)."""
        texts = [m.text for m in self.messages if m.role in ("system", "developer") and m.text]
        return "\n\n".join(texts)

    @property
    def agent_outputs(self) -> dict[str, str]:
        """What earlier agents of a Plano chain answered, by agent id (latest answer wins)."""
        return {m.name: m.text for m in self.messages if m.role == "assistant" and m.name}

    def llm_messages(self) -> list[ChatCompletionMessageParam]:
        """The conversation as the list ``ctx.llm.chat.completions.create(messages=...)`` takes."""
        return cast("list[ChatCompletionMessageParam]", [m.to_wire() for m in self.messages])

    def extra(self, name: str, default: Any = None) -> Any:
        """A field the client sent that has no attribute here (``tools``, ``metadata``, ...)."""
        return (self.model_extra or {}).get(name, default)


def parse_agent_request(body: bytes | str | dict[str, Any]) -> AgentRequest:
    """Parse a body into an :class:`AgentRequest`; ``RequestError`` (400) names the bad field."""
    base = parse_chat_request(body)
    return AgentRequest.model_validate(base.model_dump(exclude_unset=True))
