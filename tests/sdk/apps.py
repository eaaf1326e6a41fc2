"""Agents shared by the SDK tests (importable by module path for granian/hypercorn)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionChunk

from plano_agent_sdk.agent import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.request import AgentRequest
from plano_asgi.chat import chat_completion, completion_chunk

TEXT = "Hello from the agent"
PIECES = ["Hello ", "from ", "the ", "agent"]


async def _strings() -> AsyncIterator[str]:
    for piece in PIECES:
        yield piece


async def _dict_chunks() -> AsyncIterator[dict[str, Any]]:
    for piece in PIECES:
        yield completion_chunk(id="chatcmpl-dicts", model="dicts", content=piece)


async def _model_chunks() -> AsyncIterator[ChatCompletionChunk]:
    for i, piece in enumerate(PIECES):
        yield ChatCompletionChunk.model_validate(
            completion_chunk(
                id="chatcmpl-models",
                model="models",
                content=piece,
                role="assistant" if i == 0 else None,
            )
        )
    yield ChatCompletionChunk.model_validate(
        completion_chunk(id="chatcmpl-models", model="models", finish_reason="stop")
    )


async def _mixed() -> AsyncIterator[str | dict[str, Any]]:
    yield PIECES[0]
    yield completion_chunk(id="x", model="mixed", content=PIECES[1])
    yield "".join(PIECES[2:])


RETURN_KINDS = [
    "str",
    "completion-dict",
    "completion-model",
    "iter-str",
    "iter-dict-chunks",
    "iter-model-chunks",
    "iter-mixed",
    "upstream-stream",
    "upstream-completion",
    "generator",
]


async def answer(request: AgentRequest, ctx: Context) -> Any:
    kind = request.model
    if kind == "str":
        return TEXT
    if kind == "completion-dict":
        return chat_completion(content=TEXT, model="dict", usage=_USAGE)
    if kind == "completion-model":
        return ChatCompletion.model_validate(chat_completion(content=TEXT, model="m", usage=_USAGE))
    if kind == "iter-str":
        return _strings()
    if kind == "iter-dict-chunks":
        return _dict_chunks()
    if kind == "iter-model-chunks":
        return _model_chunks()
    if kind == "iter-mixed":
        return _mixed()
    if kind == "upstream-stream":
        return await ctx.llm.chat.completions.create(
            model="upstream",
            messages=request.llm_messages(),
            stream=True,
            stream_options={"include_usage": True},
        )
    if kind == "upstream-completion":
        return await ctx.llm.chat.completions.create(
            model="upstream", messages=request.llm_messages()
        )
    raise AssertionError(f"unknown kind {kind}")


_USAGE = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def build_kinds(gateway_url: str | None = None) -> Agent:
    """An agent whose request ``model`` picks the handler's return type."""
    agent = Agent(
        "kinds_agent",
        description="Answers in whichever shape the model name asks for.",
        gateway_url=gateway_url,
    )
    agent.handler(answer)
    return agent


#: For servers that import an app by path (its gateway comes from LLM_GATEWAY_ENDPOINT).
kinds = build_kinds()

#: The same answers from an async generator handler.
generator = Agent("generator_agent")


@generator.handler
async def stream_pieces(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
    for piece in PIECES:
        yield piece
