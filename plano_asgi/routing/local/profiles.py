"""Agent profiles: what the router compares a turn against, built once per agent set.

A profile holds, for every agent, the vector of its whole description, the vectors of its
description pieces (sentences, capability lines) and a BM25 index over the descriptions.
Building one costs an encoder pass over a few dozen short texts; the router keeps the
profiles of recently seen agent sets, keyed by the ids and descriptions, so a listener's
agents are embedded once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plano_asgi.routing.base import AgentCandidate
from plano_asgi.routing.local.encoder import Vectors, normalize
from plano_asgi.routing.local.lexical import BM25Index, description_pieces
from plano_asgi.routing.local.offtopic import EVERYDAY_SUBJECTS, OffTopicCompetitors

__all__ = ["AgentProfiles", "ScoreWeights", "agent_set_key"]

Scores = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """How the evidence for one text is mixed into one score per agent.

    ``whole``: cosine with the whole description; ``best``: with the best piece;
    ``top2``: mean of the two best pieces; ``lexical``: BM25, squashed to [0, 1) by
    ``bm25 / (max_bm25 + lexical_k)`` so one rare word cannot outvote the embeddings.
    """

    whole: float = 1.0
    best: float = 1.0
    top2: float = 0.5
    lexical: float = 0.2
    lexical_k: float = 1.0


def agent_set_key(agents: Sequence[AgentCandidate]) -> tuple[tuple[str, str], ...]:
    """The cache key of an agent set: ids and descriptions, in order."""
    return tuple((a.id, a.description) for a in agents)


def _description_text(agent: AgentCandidate) -> str:
    # An agent without a description is still known by its id ("weather_agent").
    return agent.description.strip() or agent.id.replace("_", " ").replace("-", " ")


@dataclass(frozen=True, slots=True)
class AgentProfiles:
    """The vectors and word index of one agent set."""

    ids: tuple[str, ...]
    whole: Vectors
    pieces: Vectors
    owner: npt.NDArray[np.intp]
    starts: npt.NDArray[np.intp]
    bm25: BM25Index
    offtopic: OffTopicCompetitors

    @classmethod
    def build(
        cls,
        agents: Sequence[AgentCandidate],
        embed: Callable[[Sequence[str]], Vectors],
        *,
        offtopic_overlap: float = 0.5,
    ) -> AgentProfiles:
        """Embed every agent's description and pieces (``embed`` may answer from a cache).

        The off-topic competitors are the everyday subjects whose cosine with every
        description and piece stays below ``offtopic_overlap``.
        """
        texts = [_description_text(a) for a in agents]
        piece_lists = [description_pieces(t) or [t] for t in texts]
        flat = [p for pieces in piece_lists for p in pieces]
        vectors = normalize(embed([*texts, *flat, *EVERYDAY_SUBJECTS]))
        subjects, vectors = vectors[len(texts) + len(flat) :], vectors[: len(texts) + len(flat)]
        owner = np.repeat(np.arange(len(agents)), [len(p) for p in piece_lists])
        starts = np.concatenate([[0], np.cumsum([len(p) for p in piece_lists])[:-1]])
        offtopic = OffTopicCompetitors.build(subjects, vectors, overlap=offtopic_overlap)
        return cls(
            ids=tuple(a.id for a in agents),
            whole=vectors[: len(texts)],
            pieces=vectors[len(texts) :],
            owner=owner.astype(np.intp),
            starts=starts.astype(np.intp),
            bm25=BM25Index.build(texts),
            offtopic=offtopic,
        )

    def closeness(self, vector: Vectors) -> float:
        """How close a text is to its nearest agent: the mean of the cosines with that
        agent's whole description and its best piece (the scale of the off-topic
        competitors' cosines)."""
        best = np.full(len(self.ids), -1.0)
        np.maximum.at(best, self.owner, self.pieces @ vector)
        return float(((self.whole @ vector + best) / 2).max())

    def offtopic_margin(self, vector: Vectors) -> float:
        """How much closer a text is to an everyday subject than to any agent (> 0: closer)."""
        return self.offtopic.best(vector) - self.closeness(vector)

    def semantic(self, vector: Vectors, weights: ScoreWeights) -> Scores:
        """Embedding score of one text vector against every agent."""
        whole = self.whole @ vector
        sims = self.pieces @ vector
        # Sort each agent's piece similarities descending: owners are contiguous blocks.
        order = np.lexsort((-sims, self.owner))
        ranked = sims[order]
        best = ranked[self.starts]
        second_idx = np.minimum(self.starts + 1, len(ranked) - 1)
        has_second = np.append(self.owner[1:] == self.owner[:-1], False)[self.starts]
        second = np.where(has_second, ranked[second_idx], best)
        score: Scores = (
            weights.whole * whole + weights.best * best + weights.top2 * (best + second) / 2
        ).astype(np.float64)
        return score

    def lexical(self, text: str, weights: ScoreWeights) -> Scores:
        """BM25 of ``text`` against every description, squashed to [0, 1)."""
        raw = self.bm25.scores(text).astype(np.float64)
        top = float(raw.max()) if raw.size else 0.0
        if top <= 0.0:
            return np.zeros(len(self.ids), dtype=np.float64)
        squashed: Scores = raw / (top + weights.lexical_k)
        return squashed

    def scores(self, vector: Vectors, text: str, weights: ScoreWeights) -> Scores:
        """The combined score of one text (its vector and its words) against every agent."""
        return self.semantic(vector, weights) + weights.lexical * self.lexical(text, weights)
