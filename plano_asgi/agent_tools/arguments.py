"""A tool call's arguments: the message for the agent, plus optional conversation history.

The history is earlier turns in OpenAI shape (``user``/``assistant``/``system`` with text
content). Bad arguments raise :class:`ToolArgumentError` with one line per problem, which
the server returns as a tool error the calling model can read and correct.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["TOOL_INPUT_SCHEMA", "ToolArgumentError", "tool_messages"]

MAX_MESSAGE_CHARS = 100_000
MAX_HISTORY = 200


class ToolArgumentError(ValueError):
    """The arguments of a tool call are not ``{"message": str, "history"?: [...]}``."""


class _Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant", "system"]
    content: str = Field(max_length=MAX_MESSAGE_CHARS)
    name: str | None = Field(default=None, max_length=64)


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    history: list[_Turn] = Field(default_factory=list, max_length=MAX_HISTORY)


TOOL_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "message": {
            "type": "string",
            "minLength": 1,
            "description": "What to ask the agent, as a user would (one self-contained request).",
        },
        "history": {
            "type": "array",
            "description": "Earlier turns of the conversation, oldest first (optional).",
            "items": {
                "type": "object",
                "properties": {
                    "role": {"type": "string", "enum": ["user", "assistant", "system"]},
                    "content": {"type": "string"},
                    "name": {"type": "string"},
                },
                "required": ["role", "content"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["message"],
    "additionalProperties": False,
}
"""The input schema of every agent tool."""


def tool_messages(tool: str, arguments: Any) -> list[dict[str, Any]]:
    """The chat messages for a call of ``tool``: the history, then the message as a user turn."""
    try:
        parsed = _Arguments.model_validate(arguments if arguments is not None else {})
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise ToolArgumentError(
            f"Invalid arguments for tool '{tool}': {problems}. Expected "
            '{"message": "<text>", "history": [{"role": "user", "content": "<text>"}, ...]} '
            "(history optional)."
        ) from None
    messages = [turn.model_dump(exclude_none=True) for turn in parsed.history]
    messages.append({"role": "user", "content": parsed.message})
    return messages


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "arguments"
    if error["type"] == "missing":
        return f"'{where}' is required"
    if error["type"] == "extra_forbidden":
        return f"'{where}' is not an argument"
    return f"'{where}': {error['msg']}"
