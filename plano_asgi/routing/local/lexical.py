"""Words: tokenising, description pieces, and BM25 over the agents' descriptions.

Embeddings catch paraphrase; exact words catch names the embedding model blurs ("W-2",
"401k", "APR", a product name). This module gives the router the word-level half: a
small BM25 where each agent's description is one document and the query is a user turn.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BM25Index", "description_pieces", "stem", "words"]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# Function words and chat filler: they say nothing about which agent is meant.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just let like me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own please same she should so
    some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves i'm i'd i'll i've it's that's
    what's there's can't don't won't want need like get got go going know think make sure
    okay ok yes yeah yep no nope thanks thank great good fine sounds cool perfect alright
    also one find looking look help tell show give us let's could may might something
    anything else well really much many way thing things lot""".split()
)


def stem(word: str) -> str:
    """A deliberately crude suffix stripper: enough to match "flights" with "flight"."""
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                continue
            return word[: -len(suffix)] + keep
    return word


def words(text: str) -> list[str]:
    """Content words of ``text``, lower-cased and stemmed."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])|\n+")
_BULLET = re.compile(r"(?:^|\s)[*\u2022]\s+|(?:^|\s)-\s+(?=[A-Z])")
_PAREN = re.compile(r"\(([^()]*)\)")
_EXAMPLE = re.compile(r"^\s*(?:e\.g\.|i\.e\.|eg\b|ie\b|for example)", re.IGNORECASE)
_LABEL = re.compile(r"^\s*[A-Za-z]+:\s*")
_HEADERS = re.compile(
    r"(?i)\b(capabilities|details it works with|examples?|features|skills|tools)\s*:"
)


def description_pieces(description: str) -> list[str]:
    """Split a description into the lines a user turn may match on its own.

    Sentences, bullet points ("* Book a table"), section headers ("Capabilities:") and the
    ``;``-separated items of a parenthesised aside each make a piece; the agent's best piece
    often says more about a short turn than the whole description does. Asides that give
    examples of what the agent does *not* do ("(e.g., flights, currency)") are dropped.
    """
    raw: list[str] = []
    asides: list[str] = []

    def aside(match: re.Match[str]) -> str:
        if not _EXAMPLE.match(match.group(1)):
            asides.extend(_LABEL.sub("", item) for item in match.group(1).split(";"))
        return " "

    text = _PAREN.sub(aside, description.strip())
    text = _HEADERS.sub("\n", text)
    for sentence in _SENTENCE.split(text):
        raw.extend(_BULLET.split(sentence))
    raw.extend(asides)
    pieces: list[str] = []
    seen: set[str] = set()
    for piece in raw:
        piece = " ".join(piece.split()).strip(" ,;:.-")
        key = piece.lower()
        if len(piece) >= 3 and re.search("[A-Za-z]", piece) and key not in seen:
            seen.add(key)
            pieces.append(piece)
    return pieces


@dataclass(frozen=True, slots=True)
class BM25Index:
    """BM25 over one document per agent. Build once per agent set; query per turn."""

    postings: dict[str, tuple[tuple[int, float], ...]]
    size: int

    @classmethod
    def build(cls, documents: Sequence[str], *, k1: float = 1.2, b: float = 0.5) -> BM25Index:
        """Index ``documents`` (agent descriptions, in agent order)."""
        counts = [Counter(words(doc)) for doc in documents]
        lengths = [sum(c.values()) for c in counts]
        avg = (sum(lengths) / len(lengths)) if lengths and sum(lengths) else 1.0
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        n = len(documents)
        postings: dict[str, list[tuple[int, float]]] = {}
        for doc, c in enumerate(counts):
            norm = k1 * (1 - b + b * lengths[doc] / avg)
            for term, tf in c.items():
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                postings.setdefault(term, []).append((doc, idf * tf * (k1 + 1) / (tf + norm)))
        return cls({t: tuple(p) for t, p in postings.items()}, n)

    def scores(self, text: str) -> npt.NDArray[np.float32]:
        """BM25 score of ``text`` against each agent (unique query terms count once)."""
        out = np.zeros(self.size, dtype=np.float32)
        for term in set(words(text)):
            for doc, weight in self.postings.get(term, ()):
                out[doc] += weight
        return out
