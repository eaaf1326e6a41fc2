"""Clauses: the parts of a user turn that may each ask for something different.

"Flights to Atlanta and the weather there" asks two agents for two things; "I need a
train. Thanks for the hotel" hands off in its first sentence. The router scores each
clause on its own as well as the whole turn, so a new topic in one clause is not drowned
by the rest, and a turn that asks for several things can be routed to several agents, in
the order the user asked.
"""

from __future__ import annotations

import re

__all__ = ["split_clauses"]

_SENTENCES = re.compile(r"(?<=[.!?;])\s+|\n+")
# A conjunction starts a new clause unless what follows it is only a prepositional phrase
# ("a hotel and in the same area", "from Seattle and to Denver"): that still describes the
# same request. A bare "also" ("I am also looking for") is an adverb inside a clause, not
# a joint; it only splits after a comma.
_PREPOSITION = r"(?:in|on|at|to|from|for|with|near|by|of|into|around|within|without|inside)\b"
_CONJUNCTIONS = re.compile(
    r",?\s+(?:and\s+also|and\s+then|and\s+what\s+about|and|plus|as\s+well\s+as|then)\s+"
    rf"(?!{_PREPOSITION})"
    rf"|,\s*also\s+(?!{_PREPOSITION})"
    r"|,\s+(?=(?:what|how|can|could|is|are|do|does|will|book|find|get|show|tell)\b)",
    re.IGNORECASE,
)
_LEADING = re.compile(r"^(?:and|also|plus|then|so)\b[\s,]*", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9]+")


def split_clauses(text: str, *, max_clauses: int = 4, min_words: int = 2) -> list[str]:
    """Split ``text`` into at most ``max_clauses`` clauses, in reading order.

    Sentences come first, then conjunctions inside a sentence ("and", ", also", "plus",
    ", then"), except before a prepositional phrase. Fragments with fewer than
    ``min_words`` words are glued back onto their neighbour, so "Paris and London" stays
    whole. A turn with one clause returns ``[text]``.
    """
    clauses: list[str] = []
    for sentence in _SENTENCES.split(text.strip()):
        parts = [_LEADING.sub("", p.strip(" ,;")) for p in _CONJUNCTIONS.split(sentence)]
        merged: list[str] = []
        for part in parts:
            if not part:
                continue
            if merged and len(_WORD.findall(part)) < min_words:
                merged[-1] = f"{merged[-1]} and {part}"
            elif merged and len(_WORD.findall(merged[-1])) < min_words:
                merged[-1] = f"{merged[-1]} {part}"
            else:
                merged.append(part)
        clauses.extend(merged)
    if len(clauses) > max_clauses:
        clauses = [*clauses[: max_clauses - 1], " ".join(clauses[max_clauses - 1 :])]
    return clauses or [text]
