"""The quickstart's agent: it answers without a model, so it runs offline and keyless.

Served in-process by the listener (``app: echo_agent:agent`` in ``plano_config.yaml``), or
alone with ``uvicorn echo_agent:agent --port 10500`` from this folder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from plano_agent_sdk import Agent, AgentRequest, Context

agent = Agent("echo_agent", description="Repeats the user's message, word for word.")


@agent.handler(timeout=10)
async def handle(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
    """Stream the reply in pieces; the SDK sends chunks or one completion, as asked.

    With a model instead: ``return await ctx.llm.chat.completions.create(...)`` (the model
    gateway's client; see README "Writing an agent").
    """
    words = request.last_user_message.split()
    if not words:
        yield "Say something and I will repeat it."
        return
    yield "You said:"
    for word in words:
        yield f" {word}"
