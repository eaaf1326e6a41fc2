"""The routing prompt for an orchestrator model, and reading its answer.

The prompt keeps the structure the Plano-Orchestrator models were fine-tuned on (routes as
one JSON object per line inside ``<routes>`` tags, the conversation as 4-space-indented
JSON inside ``<conversation>`` tags, numbered instructions, and a ``{"route": [...]}``
answer format whose braces are doubled on purpose), written in our own words. You can
replace the template with your own file (``overrides.orchestrator_prompt_path``).

The conversation is cut to fit the model's context the way Plano does it: tool/system
turns and empty texts dropped, the last 16 turns kept, a byte/4 token estimate walked from
the newest turn, and an older user turn that does not fit trimmed in the middle.

Reading the answer is more forgiving than Plano's: code fences and prose around the JSON
are ignored, single quotes are understood without breaking names that contain an
apostrophe, duplicates are removed and unknown ids dropped. Anything else is a
:class:`~plano_asgi.errors.RoutingError`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from plano_asgi.chat import ChatMessage
from plano_asgi.errors import RoutingError
from plano_asgi.routing.base import AgentCandidate

__all__ = [
    "DEFAULT_TEMPLATE",
    "MAX_ROUTING_TURNS",
    "TRIM_MARKER",
    "RoutingPrompt",
    "format_conversation",
    "format_routes",
    "parse_routes",
    "select_turns",
    "trim_middle",
]

logger = logging.getLogger("plano_asgi.routing")

MAX_ROUTING_TURNS = 16
"""Only the newest 16 turns are shown to the router."""

TRIM_MARKER = "\u2026"
"""What replaces the middle of a trimmed turn (3 bytes in UTF-8)."""

_SKIPPED_ROLES = frozenset({"system", "developer", "tool", "function"})

DEFAULT_TEMPLATE = (
    "\n"
    "You are a routing assistant. Your job is to choose the route or routes that best serve "
    "what the user is asking for right now.\n"
    "\n"
    "The available routes are listed between the <routes></routes> tags:\n"
    "<routes>\n"
    "{routes}\n"
    "</routes>\n"
    "\n"
    "The conversation so far is given between the <conversation></conversation> tags:\n"
    "<conversation>\n"
    "{conversation}\n"
    "</conversation>\n"
    "\n"
    "## Instructions\n"
    "1. Work out what the user wants in their most recent message.\n"
    "2. Compare that intent with the description of every route.\n"
    "3. Answer only with route names, spelled exactly as they appear in the list.\n"
    "4. If no route fits, or the request has already been taken care of, answer with an "
    "empty list.\n"
    "\n"
    "## Response Format\n"
    "Reply with strict JSON only, in this shape:\n"
    '{{"route": ["route_name_1", "route_name_2", "..."]}}\n'
    'When no route is needed, reply with {{"route": []}}.\n'
)
"""Our routing prompt. ``{routes}`` and ``{conversation}`` are filled by plain replacement,
so the doubled braces reach the model as written (that is what the fine-tuned models saw)."""

_PLACEHOLDER = re.compile(r"\{(routes|conversation)\}")


@dataclass(frozen=True, slots=True)
class RoutingPrompt:
    """A prompt template plus the token budget it must fit in."""

    template: str = DEFAULT_TEMPLATE
    context_length: int = 8192
    """Budget in estimated tokens (UTF-8 bytes // 4), template included."""

    def __post_init__(self) -> None:
        for name in ("{routes}", "{conversation}"):
            if name not in self.template:
                raise ValueError(f"the routing prompt template has no {name} placeholder")

    def build(self, messages: Sequence[ChatMessage], agents: Sequence[AgentCandidate]) -> str:
        """The filled prompt for ``messages`` and ``agents``."""
        turns = select_turns(
            messages, budget=self.context_length, start=len(self.template.encode("utf-8")) // 4
        )
        return self.fill(format_routes(agents), format_conversation(turns))

    def fill(self, routes: str, conversation: str) -> str:
        """Substitute both placeholders in one pass (a route text cannot inject the other)."""
        values = {"routes": routes, "conversation": conversation}
        return _PLACEHOLDER.sub(lambda match: values[match.group(1)], self.template)


def format_routes(agents: Sequence[AgentCandidate]) -> str:
    """One JSON object per agent and line: ``name``, ``description``, ``parameters``."""
    lines = []
    for agent in agents:
        route = {
            "name": agent.id,
            "description": agent.description,
            "parameters": {"type": "object", "properties": {}, "required": []},
        }
        lines.append(json.dumps(route, ensure_ascii=False))
    return "\n".join(lines)


def format_conversation(turns: Sequence[dict[str, str]]) -> str:
    """The kept turns as JSON with a 4-space indent, non-ASCII unescaped."""
    return json.dumps(list(turns), indent=4, ensure_ascii=False)


def select_turns(
    messages: Sequence[ChatMessage], *, budget: int, start: int = 0
) -> list[dict[str, str]]:
    """The turns the router sees, oldest first, as ``{"role", "content"}``.

    ``start`` is the token count already used (the template). Tokens are estimated as
    UTF-8 bytes // 4.
    """
    turns = [
        (message.role, message.text)
        for message in messages
        if message.role not in _SKIPPED_ROLES and message.text != ""
    ][-MAX_ROUTING_TURNS:]
    kept: list[dict[str, str]] = []
    count = start
    for role, text in reversed(turns):
        tokens = len(text.encode("utf-8")) // 4
        if count + tokens > budget:
            remaining = budget - count
            if role == "user" and remaining > 0:
                kept.append({"role": role, "content": trim_middle(text, remaining * 4)})
            break
        kept.append({"role": role, "content": text})
        count += tokens
    if not kept and turns:
        role, text = turns[-1]
        kept.append({"role": role, "content": text})
    kept.reverse()
    return kept


def trim_middle(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes by removing its middle.

    60% of the room goes to the head, the rest to the tail, joined by ``…``; cuts never
    split a character. With no room for the marker, only the head is kept.
    """
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    marker = TRIM_MARKER.encode("utf-8")
    if limit <= len(marker):
        return raw[: _boundary_left(raw, max(limit, 0))].decode("utf-8")
    room = limit - len(marker)
    head_size = room * 60 // 100
    head = raw[: _boundary_left(raw, head_size)]
    tail = raw[_boundary_right(raw, len(raw) - (room - head_size)) :]
    return head.decode("utf-8") + TRIM_MARKER + tail.decode("utf-8")


def _is_boundary(raw: bytes, index: int) -> bool:
    return index >= len(raw) or (raw[index] & 0xC0) != 0x80


def _boundary_left(raw: bytes, index: int) -> int:
    while index > 0 and not _is_boundary(raw, index):
        index -= 1
    return index


def _boundary_right(raw: bytes, index: int) -> int:
    while index < len(raw) and not _is_boundary(raw, index):
        index += 1
    return index


# -- reading the answer -------------------------------------------------------------------

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)


def parse_routes(content: str | None, known: Collection[str]) -> tuple[str, ...]:
    """The route ids in an orchestrator answer, in order, deduplicated, known ids only.

    An empty answer, ``null``, ``{}`` or ``{"route": null}`` means "no route" (``()``).
    Raises :class:`RoutingError` when no route JSON can be found.
    """
    if content is None or not content.strip():
        return ()
    value = _decode_answer(content.strip())
    if value is None:
        return ()
    if isinstance(value, dict):
        value = value.get("route", value.get("routes"))
        if value is None:
            return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RoutingError("The router's answer has no list of route names under 'route'.")
    by_folded = {name.casefold(): name for name in known}
    chosen: list[str] = []
    for item in value:
        name = item.strip()
        if not name:
            continue
        if name not in known:
            match = by_folded.get(name.casefold())
            if match is None:
                logger.warning("router chose an unknown route %r; ignoring it", name[:100])
                continue
            name = match
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def _decode_answer(text: str) -> Any:
    candidates = [text]
    fenced = _FENCE.search(text)
    if fenced:
        candidates.insert(0, fenced.group(1).strip())
    for candidate in candidates:
        for variant in _variants(candidate):
            try:
                return json.loads(variant)
            except ValueError:
                continue
    raise RoutingError("The router's answer is not route JSON.")


def _variants(text: str) -> list[str]:
    """Ways to read ``text``: as is, its first ``{...}``, each with repairs."""
    bases = [text]
    obj = _first_object(text)
    if obj is not None and obj != text:
        bases.append(obj)
    out: list[str] = []
    for base in bases:
        cleaned = base.replace("\\n", "")
        out.extend([base, cleaned, _single_to_double(cleaned)])
    return out


def _first_object(text: str) -> str | None:
    """The first balanced ``{...}`` in ``text`` (quotes of either kind respected)."""
    start = text.find("{")
    while start != -1:
        depth = 0
        quote: str | None = None
        index = start
        while index < len(text):
            char = text[index]
            if quote is not None:
                if char == "\\":
                    index += 1
                elif char == quote and (quote == '"' or _closes_single(text, index)):
                    quote = None
            elif char in "\"'":
                quote = char
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return text[start : index + 1]
            index += 1
        start = text.find("{", start + 1)
    return None


def _closes_single(text: str, index: int) -> bool:
    """A ``'`` ends a single-quoted string only when JSON punctuation follows it."""
    rest = text[index + 1 :].lstrip()
    return not rest or rest[0] in ",:]}"


def _single_to_double(text: str) -> str:
    """Rewrite single-quoted strings as JSON strings; apostrophes inside names survive."""
    out: list[str] = []
    index = 0
    in_double = False
    while index < len(text):
        char = text[index]
        if in_double:
            out.append(char)
            if char == "\\" and index + 1 < len(text):
                out.append(text[index + 1])
                index += 1
            elif char == '"':
                in_double = False
        elif char == '"':
            in_double = True
            out.append(char)
        elif char == "'":
            end = index + 1
            while end < len(text) and not (text[end] == "'" and _closes_single(text, end)):
                end += 1
            out.append(json.dumps(text[index + 1 : end].replace("\\'", "'"), ensure_ascii=False))
            index = end
        else:
            out.append(char)
        index += 1
    return "".join(out)
