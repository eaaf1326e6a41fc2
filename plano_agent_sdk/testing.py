"""Test an agent in-process, with scripted LLM answers instead of a model.

::

    from plano_agent_sdk.testing import ScriptedLLM, call_agent

    async def test_weather_agent():
        llm = ScriptedLLM(["Sunny, 21 C."])
        result = await call_agent(agent, "Weather in Paris?", stream=True, llm=llm)
        assert result.text == "Sunny, 21 C."
        assert llm.calls[0].headers["x-request-id"] == result.request_id

The agent runs through its real ASGI entry point (same parsing, streaming and error
paths as in production); its ``ctx.llm`` is pointed at the :class:`ScriptedLLM` for the
duration. The test fails if the handler made an LLM call the script did not expect or
left scripted replies unused. In-process transports buffer the response, so use a real
loopback server when you test *when* chunks arrive rather than *what* they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx2

from plano_agent_sdk.agent import Agent
from plano_agent_sdk.chunks import collect_text, iter_chunks
from plano_agent_sdk.gateway import gateway_client
from plano_agent_sdk.scripted_llm import LLMCall, Reply, ScriptedLLM, ScriptedReply
from plano_asgi.chat import ChatMessage

__all__ = [
    "AgentResult",
    "AgentTestClient",
    "LLMCall",
    "Reply",
    "ScriptedLLM",
    "ScriptedReply",
    "call_agent",
]

Messages = str | Sequence[Mapping[str, Any] | ChatMessage]


@dataclass(frozen=True, slots=True)
class AgentResult:
    """What the agent answered to one call."""

    status: int
    text: str
    """The answer text: concatenated deltas (streaming) or the message content."""
    chunks: tuple[dict[str, Any], ...]
    """The parsed ``chat.completion.chunk`` events (streaming only)."""
    body: Any
    """The JSON body (not streaming), else None."""
    raw: bytes
    headers: Mapping[str, str]

    @property
    def request_id(self) -> str:
        """The ``x-request-id`` the agent answered with."""
        return self.headers.get("x-request-id", "")

    @property
    def error(self) -> dict[str, Any] | None:
        """The OpenAI error object, from an error status or an in-band stream error event."""
        for source in (self.body, *self.chunks):
            error = source.get("error") if isinstance(source, dict) else None
            if isinstance(error, dict):
                return error
        return None


def _messages(messages: Messages) -> list[dict[str, Any]]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return [m.to_wire() if isinstance(m, ChatMessage) else dict(m) for m in messages]


class AgentTestClient:
    """Call an agent in-process: ``async with AgentTestClient(agent, llm=...) as client``.

    Not safe to share one Agent between two clients at the same time (the agent's
    gateway client is swapped for the block's duration). On a clean exit it calls
    ``llm.verify()``; without ``llm`` an empty script is used, so any LLM call fails the test.
    """

    def __init__(
        self,
        agent: Agent,
        *,
        llm: ScriptedLLM | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.agent = agent
        self.llm = llm if llm is not None else ScriptedLLM()
        self._headers = dict(headers or {})
        self._http: httpx2.AsyncClient | None = None
        self._previous: tuple[Any, bool] | None = None

    async def __aenter__(self) -> AgentTestClient:
        client = gateway_client(
            "http://scripted-llm.test/v1",
            transport=httpx2.ASGITransport(app=self.llm),
            max_retries=0,
        )
        self._previous = self.agent._swap_llm(client, True)
        transport = httpx2.ASGITransport(app=self.agent)
        self._http = httpx2.AsyncClient(transport=transport, base_url="http://agent.test")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._http is not None:
            await self._http.aclose()
        await self.agent.aclose()
        if self._previous is not None:
            self.agent._swap_llm(*self._previous)
        if exc_type is None:
            self.llm.verify()

    async def call(
        self,
        messages: Messages,
        *,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        **body: Any,
    ) -> AgentResult:
        """POST one chat request to the agent and return its parsed answer."""
        if self._http is None:
            raise RuntimeError("use AgentTestClient in 'async with'")
        payload = {"messages": _messages(messages), "stream": stream, **body}
        response = await self._http.post(
            "/v1/chat/completions", json=payload, headers={**self._headers, **(headers or {})}
        )
        raw = response.content
        is_sse = response.headers.get("content-type", "").startswith("text/event-stream")
        if is_sse:
            chunks = tuple(iter_chunks(raw))
            text, parsed = collect_text(raw), None
        else:
            chunks, parsed = (), json.loads(raw) if raw else None
            text = _content(parsed)
        return AgentResult(
            status=response.status_code,
            text=text,
            chunks=chunks,
            body=parsed,
            raw=raw,
            headers=dict(response.headers),
        )


def _content(body: Any) -> str:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return ""
    return content if isinstance(content, str) else ""


async def call_agent(
    agent: Agent,
    messages: Messages,
    *,
    stream: bool = False,
    llm: ScriptedLLM | None = None,
    headers: Mapping[str, str] | None = None,
    **body: Any,
) -> AgentResult:
    """One call through :class:`AgentTestClient` (verifies the LLM script afterwards)."""
    async with AgentTestClient(agent, llm=llm, headers=headers) as client:
        return await client.call(messages, stream=stream, **body)
