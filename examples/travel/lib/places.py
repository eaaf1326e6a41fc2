"""Finding places in free text, and splitting a question into its parts.

This is the deterministic half of extraction: no model, no network. It knows the cities in
the airport table in any case, capitalised names it has never heard of ("Bozeman"), lower-case
names after "in"/"at"/"for"/"near" ("weather in bozeman"), and IATA codes ("SEA to ATL").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from examples.travel.lib.airports import (
    Airport,
    airport_by_code,
    fold,
    place_names,
    resolve_airport,
)

__all__ = [
    "FLIGHT_WORDS",
    "WEATHER_WORDS",
    "Mention",
    "find_mentions",
    "is_about",
    "split_clauses",
]

WEATHER_WORDS = frozenset(
    "weather forecast temperature temperatures rain raining rainy snow snowing sunny sun hot "
    "cold warm chilly humid humidity wind windy sunrise sunset umbrella degrees celsius "
    "fahrenheit storm storms cloudy clouds climate".split()
)
FLIGHT_WORDS = frozenset(
    "flight flights fly flying flies plane planes airline airlines depart departs departure "
    "departures arrive arrives arrival arrivals gate gates nonstop non-stop direct".split()
)
_PREPOSITIONS = frozenset(
    "in at for to from near around into of between and visit visiting leave leaves leaving "
    "departing reach".split()
)
_STOP_WORDS = frozenset(
    """what what's whats how how's hows is are was were do does did can could will would
    should show find tell give get any i i'm im please thanks thank hi hello hey the a an and
    also or but if when where which who why it its it's there here this that these those my
    me we our you your weather forecast flight flights today tonight tomorrow now monday
    tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december celsius fahrenheit nonstop direct next
    day days week weekend morning afternoon evening night ok okay yes no let let's lets
    current currently right have has had be been book need want going go travel trip check
    see look looking us they them he she his her their so just like about more some
    open-meteo flightaware aeroapi openai set""".split()
)
_CONNECTORS = frozenset("de del da do la le el los las of upon on am".split())
_CLAUSE_SPLIT = re.compile(
    r"[?!;]+|(?<!\bSt)(?<!\bMt)(?<!\bFt)(?<!\bDr)\.(?:\s|$)|,?\s+(?:and|also|plus|then)\s+(?=(?:what|what's|how|how's|is|are|do|"
    r"does|can|could|will|would|any|which|show|find|get|tell|give|also|i|flights?|weather|"
    r"forecast|the\s+(?:weather|forecast|flights?))\b)",
    re.IGNORECASE,
)
_Add = Callable[[int, int, Airport | None], None]
_Free = Callable[[int, int], bool]
_WORD = re.compile(r"[A-Za-zÀ-ÿ][\w'’.-]*")


@dataclass(frozen=True, slots=True)
class Mention:
    """A place named in a text: where, how it was said, and the word before it."""

    text: str
    """The place as written ("Paris", "new york", "SEA")."""
    start: int
    end: int
    prep: str
    """The lower-cased word right before it ("in", "from", "to"), or ""."""
    airport: Airport | None
    """The table's airport for it, when it is in the table."""
    qualifier: str = ""
    """A region or country written after a comma ("France" in "Paris, France")."""

    @property
    def trusted(self) -> bool:
        """Known to the table or introduced by a preposition: safe to use as context."""
        return self.airport is not None or self.prep in _PREPOSITIONS


def split_clauses(text: str) -> list[str]:
    """Split a question into its parts: "weather in X, and any flights to Y?" gives two."""
    parts = [part.strip(" ,") for part in _CLAUSE_SPLIT.split(text)]
    return [part for part in parts if part]


def is_about(text: str, words: frozenset[str]) -> bool:
    """Whether ``text`` uses any of ``words`` (for picking the clause an agent answers)."""
    tokens = re.findall(r"[a-z][a-z'-]*", text.lower())
    return any(token in words or token.rstrip("s") in words for token in tokens)


@functools.cache
def _known_pattern() -> re.Pattern[str]:
    names = (r"\s+".join(re.escape(word) for word in name.split()) for name in place_names())
    return re.compile(r"(?<![\w])(?:" + "|".join(names) + r")(?![\w])")


def _prep_before(text: str, start: int) -> str:
    words = re.findall(r"[A-Za-z']+", text[:start][-24:])
    return words[-1].lower() if words else ""


def _qualifier(text: str, end: int) -> str:
    match = re.match(r",\s*([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)", text[end:])
    if match and match[1].lower() not in _STOP_WORDS:
        return match[1]
    return ""


def find_mentions(text: str) -> list[Mention]:
    """Every place named in ``text``, in order of appearance.

    A name from the table counts when it is capitalised or follows a preposition, so
    "have a nice day" is not about Nice but "weather in nice" is.
    """
    mentions: list[Mention] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, airport: Airport | None) -> None:
        raw = text[start:end].strip(" .'’")
        end = start + len(raw)
        qualifier = _qualifier(text, end)
        mentions.append(Mention(raw, start, end, _prep_before(text, start), airport, qualifier))
        taken.append((start, end))
        if qualifier:
            at = text.index(qualifier, end)
            taken.append((at, at + len(qualifier)))

    def free(start: int, end: int) -> bool:
        return all(end <= lo or start >= hi for lo, hi in taken)

    folded = fold(text)
    for match in _known_pattern().finditer(folded):
        start, end = match.span()
        raw = text[start:end]
        prep = _prep_before(text, start)
        is_code = len(raw) in (3, 4) and raw.isalpha() and airport_by_code(raw) is not None
        if is_code and not raw.isupper() and prep not in _PREPOSITIONS:
            continue
        if not raw[0].isupper() and prep not in _PREPOSITIONS:
            continue
        if raw.lower() in _STOP_WORDS and not raw[0].isupper():
            continue
        if free(start, end):
            add(start, end, resolve_airport(raw))
    for match in re.finditer(r"\b(?:from|to|into)\s+([a-z]{3,4})\b", text):
        if free(*match.span(1)) and (airport := airport_by_code(match[1])):
            add(match.start(1), match.end(1), airport)
    for match in re.finditer(r"\b[A-Z]{3}\b", text):
        if free(*match.span()) and match[0].lower() not in _STOP_WORDS:
            if (airport := resolve_airport(match[0])) and (
                airport.icao or _prep_before(text, match.start()) in ("from", "to", "into")
            ):
                add(match.start(), match.end(), airport)
    _capitalised(text, add, free)
    _lowercase_after_prep(text, add, free)
    return sorted(mentions, key=lambda mention: mention.start)


def _capitalised(text: str, add: _Add, free: _Free) -> None:
    words = list(_WORD.finditer(text))
    index = 0
    while index < len(words):
        word = words[index]
        initial = not text[: word.start()].strip() or text[: word.start()].rstrip()[-1] in ".?!"
        follower = words[index + 1][0].lower() if index + 1 < len(words) else ""
        if (
            not word[0][0].isupper()
            or "_" in word[0]  # identifiers such as AEROAPI_KEY are never places
            or word[0].lower().strip(".") in _STOP_WORDS
            or (initial and follower not in WEATHER_WORDS | FLIGHT_WORDS)
        ):
            index += 1
            continue
        last = index
        probe = index + 1
        while probe < len(words) and text[words[probe - 1].end() : words[probe].start()] == " ":
            token = words[probe][0]
            if token[0].isupper() and token.lower() not in _STOP_WORDS:
                last = probe
            elif token.lower() not in _CONNECTORS:
                break
            probe += 1
        start, end = words[index].start(), words[last].end()
        if free(start, end) and len(text[start:end].strip(".")) > 1:
            add(start, end, None)
        index = last + 1


def _lowercase_after_prep(text: str, add: _Add, free: _Free) -> None:
    for match in re.finditer(r"\b(?:in|at|for|near|around)\s+([a-z][a-z'’ -]*)", text):
        words: list[str] = []
        for word in match[1].split():
            if word in _STOP_WORDS or word in _PREPOSITIONS or len(words) == 3:
                break
            words.append(word)
        if not words:
            continue
        start = match.start(1)
        end = start + len(" ".join(words))
        if free(start, end):
            add(start, end, resolve_airport(text[start:end]))
