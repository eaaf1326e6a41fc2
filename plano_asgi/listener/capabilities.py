"""The listener's own answer to a turn no agent fits: what its agents can help with.

Plano sends such a turn to the default agent, which then answers something unrelated. Here
that happens only when an agent is marked ``default: true``; otherwise the listener answers
itself, from the agents' descriptions (or ``listeners[].off_topic_reply`` when set), and no
agent is called.
"""

from __future__ import annotations

import re

from plano_asgi.config import AgentListener

__all__ = ["LISTENER_ANSWER", "capabilities_reply"]

LISTENER_ANSWER = "listener"
"""Who answered, where an agent id would be (the ``model`` of the completion)."""

_SENTENCE = re.compile(r"(?<=[.!?])\s")
_MAX_SUMMARY = 200


def _summary(description: str) -> str:
    """The first sentence of the first non-empty line of a description, bounded."""
    line = next((part.strip() for part in description.splitlines() if part.strip()), "")
    sentence = _SENTENCE.split(line, maxsplit=1)[0].strip()
    if len(sentence) > _MAX_SUMMARY:
        sentence = sentence[: _MAX_SUMMARY - 1].rstrip() + "…"
    return sentence


def capabilities_reply(listener: AgentListener) -> str:
    """The text the listener answers with when no agent fits the turn."""
    if listener.off_topic_reply:
        return listener.off_topic_reply
    lines = ["That is not something I can help with here. I can help with:"]
    for agent in listener.agents:
        summary = _summary(agent.description or "")
        lines.append(f"- {summary}" if summary else f"- {agent.id}")
    return "\n".join(lines)
