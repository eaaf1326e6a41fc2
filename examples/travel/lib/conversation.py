"""The conversation as the travel agents see it: turns, and the part of it an agent answers.

In a multi-agent chain the second agent sees the first agent's answer as an assistant message
named by that agent's id, placed just before the latest user turn (Plano's layout). Here that
message is simply the most recent earlier turn, which is what "there" should resolve against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from examples.travel.lib.places import is_about, split_clauses
from plano_asgi.chat import message_text

__all__ = ["Question", "Turn", "question_for", "turns_from_messages"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One message: ``role``, its text, and the ``name`` of the agent that wrote it, if any."""

    role: str
    text: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Question:
    """What one agent should answer, and where to look for references like "there"."""

    focus: str
    """The parts of the latest user message this agent answers."""
    others: tuple[str, ...]
    """The other parts of the latest user message (another agent answers them)."""
    earlier: tuple[str, ...]
    """Texts of earlier turns, newest first (including a previous agent's answer)."""

    @property
    def context(self) -> tuple[str, ...]:
        """Where references resolve: the rest of this message first, then older turns."""
        return (*self.others, *self.earlier)


def turns_from_messages(messages: Iterable[Any]) -> tuple[Turn, ...]:
    """Turns from OpenAI-style messages (pydantic models or plain dicts); system turns dropped."""
    turns: list[Turn] = []
    for message in messages:
        data: Mapping[str, Any]
        if isinstance(message, Mapping):
            data = message
        else:
            data = {
                "role": getattr(message, "role", ""),
                "content": getattr(message, "content", None),
                "name": getattr(message, "name", None),
            }
        role = str(data.get("role") or "")
        if role in ("system", "developer"):
            continue
        name = data.get("name")
        turns.append(Turn(role, message_text(data.get("content")), name if name else None))
    return tuple(turns)


def question_for(turns: tuple[Turn, ...], topic: frozenset[str]) -> Question:
    """Split the conversation for an agent whose subject is described by ``topic`` words.

    The latest user message is cut into clauses; the ones that use a topic word are the
    focus (all of it when none does), the rest become context.
    """
    last = next((i for i in range(len(turns) - 1, -1, -1) if turns[i].role == "user"), None)
    if last is None:
        return Question("", (), tuple(turn.text for turn in reversed(turns)))
    clauses = split_clauses(turns[last].text)
    focus = [clause for clause in clauses if is_about(clause, topic)]
    if not focus:
        focus = clauses
    others = tuple(clause for clause in clauses if clause not in focus)
    earlier = tuple(turn.text for turn in reversed(turns[:last]) if turn.text)
    return Question(" ".join(focus), others, earlier)
