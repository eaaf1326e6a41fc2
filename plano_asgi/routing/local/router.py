"""``local_v1``: the embedded zero-shot router. Offline, no key, no GPU, milliseconds a turn.

It reads only the agents' ids and descriptions and the conversation. Every user turn is
scored against every agent (sentence embeddings of the description and of its best
lines, plus BM25 over its words); a forward filter over the turns keeps the topic with
the agent that holds it until a turn clearly names another (:mod:`.state`); a turn that
asks for several things is split into clauses and routed to several agents in the order
asked (:mod:`.clauses`); a first turn that fits no agent well enough gets ``()``.
Everything that depends only on a text (its vector, its scores for an agent set) is
cached, so a turn costs one encoder pass over the new user message.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio.to_thread
import numpy as np

from plano_asgi.chat import ChatMessage
from plano_asgi.routing.base import AgentCandidate, RouteDecision
from plano_asgi.routing.local.clauses import split_clauses
from plano_asgi.routing.local.confidence import DEFAULT_CALIBRATION, calibrated
from plano_asgi.routing.local.encoder import Encoder, MiniLMEncoder, Vectors, normalize
from plano_asgi.routing.local.intents import two_intents
from plano_asgi.routing.local.lexical import words
from plano_asgi.routing.local.profiles import AgentProfiles, Scores, ScoreWeights, agent_set_key
from plano_asgi.routing.local.state import TopicSettings, TopicTracker

__all__ = ["LocalRouter", "LocalRouterSettings"]

logger = logging.getLogger(__name__)

MAX_ROUTING_TURNS = 16
# How many of the latest messages a later turn is compared with to tell a follow-up.
_CONTEXT_MESSAGES = 3
# How much of an assistant reply stands for it there (characters).
_REPLY_LEAD = 300
_IGNORED_ROLES = frozenset({"system", "developer", "tool"})

# Words that announce another request or a change of subject ("I also need a taxi", "one
# more thing", "by the way", "unrelated, but"): the topic may move on this turn.
_NEW_TOPIC = re.compile(
    r"\b(?:also|too|as well|another|in addition|additionally|one more thing|besides"
    r"|by the way|btw|unrelated|off[- ]topic|separately|side note|on another note"
    r"|different (?:question|thing|topic)|random (?:question|q)|changing the subject"
    r"|in the meantime|while i'?m (?:here|at it))\b",
    re.IGNORECASE,
)

# (agent indices in order, the decision's reason, its margin): see :mod:`.confidence`.
_Verdict = tuple[tuple[int, ...], str, float]


@dataclass(frozen=True, slots=True)
class _Turn:
    """The latest user turn as the router reads it."""

    text: str
    scores: Scores
    clauses: list[Scores]
    relevance: float
    """The best score of the turn or any of its clauses for any agent."""
    offtopic: float
    """How much closer the turn is to an everyday subject than to any agent."""


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class LocalRouterSettings:
    """The router's global settings, tuned once on the routing dev sets (never per agent).

    Scores are the combined per-agent scores of :mod:`.profiles` (about 0 for an unrelated
    text, above 1 for a close paraphrase of a description).

    Off-topic turns. ``oos_threshold``: a first turn whose best clause scores below it fits
    no agent. ``offtopic_margin`` / ``offtopic_ceiling``: a first turn closer by more than
    the margin to an everyday subject (:mod:`.offtopic`) than to any agent fits none
    either, unless some agent still scores above the ceiling. Later turns are held to a
    stricter test, since a short follow-up says little by itself: the turn must bring at
    least ``novel_words`` content words the conversation has not used, be unlike the last
    messages (cosine below ``context_similarity``), and either score below
    ``oos_followup_threshold`` or be closer to an everyday subject by
    ``offtopic_margin_followup`` (then with the looser ``offtopic_context_similarity``; a
    turn with fewer than ``novel_words`` but at least ``novel_words_offtopic`` new words
    must be closer by ``offtopic_margin_short_extra`` more).

    Two-intent turns. The whole turn's two best agents A and B are candidates when B
    scores at least ``multi_floor`` and within ``multi_gap`` of A; the turn goes to both
    when one clause prefers B over A by ``multi_margin`` (and scores B at least
    ``multi_threshold``) while another prefers A over B by ``multi_support_margin``, and
    each of those clauses scores its agent above every other one (``multi_own_best``) by
    ``multi_clear``. Later turns use ``multi_margin_later``: mid-conversation, a clause
    that asks for a detail ("and the address?") often borrows another agent's words.

    Topic changes. ``cue_switch``: the handoff prior for a turn with words that announce
    another request or a change of subject ("also", "by the way"); ``None`` = as usual.

    Confidence: ``calibration`` maps each kind of decision's margin to a probability of
    being right (``(slope, intercept)`` of a logistic, fitted on the dev sets by
    ``scripts/calibrate_router.py``).
    """

    weights: ScoreWeights = field(default_factory=ScoreWeights)
    topic: TopicSettings = field(default_factory=TopicSettings)
    oos_threshold: float = 0.6
    offtopic_overlap: float = 0.5
    offtopic_margin: float = 0.15
    offtopic_ceiling: float = 0.7
    novel_words: int = 4
    novel_words_offtopic: int = 3
    offtopic_margin_short_extra: float = 0.1
    context_similarity: float = 0.15
    oos_followup_threshold: float = 0.3
    offtopic_margin_followup: float = 0.15
    offtopic_context_similarity: float = 0.5
    multi_floor: float = 0.3
    multi_gap: float = 0.8
    multi_threshold: float = 0.3
    multi_margin: float = 0.15
    multi_margin_later: float = 0.3
    multi_support_margin: float = 0.4
    multi_own_best: bool = True
    multi_clear: float = 0.1
    cue_switch: float | None = 0.7
    calibration: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: dict(DEFAULT_CALIBRATION)
    )
    max_turns: int = MAX_ROUTING_TURNS


class _LRU(Generic[K, V]):
    """A small thread-safe LRU map."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class LocalRouter:
    """The ``local_v1`` router. Construct freely; the model loads on first use or :meth:`load`.

    Pass ``encoder`` to use your own sentence embedder (anything with
    ``encode(texts) -> np.ndarray``); the default is the pinned all-MiniLM-L6-v2 int8 model.
    :meth:`route` runs the encoder and the scoring in a worker thread; the caches are
    shared between threads (locked maps, values published whole), so concurrent turns
    get the same decisions as sequential ones. Call :meth:`prepare` at startup to move the
    model load and the agents' embeddings off the first request.
    """

    name = "local_v1"

    def __init__(
        self,
        encoder: Encoder | None = None,
        *,
        settings: LocalRouterSettings | None = None,
        cache_size: int = 8192,
    ) -> None:
        self.encoder: Encoder = encoder if encoder is not None else MiniLMEncoder()
        self.settings = settings or LocalRouterSettings()
        self._vectors: _LRU[str, Vectors] = _LRU(cache_size)
        self._scores: _LRU[tuple[int, str], Scores] = _LRU(cache_size)
        self._profiles: _LRU[tuple[tuple[str, str], ...], tuple[int, AgentProfiles]] = _LRU(32)
        self._profile_serial = 0
        self._build_lock = threading.Lock()
        self.profile_builds = 0
        """How many agent sets have had their descriptions embedded (for tests, metrics)."""

    def load(self) -> None:
        """Load the model now instead of on the first request (e.g. at startup)."""
        load = getattr(self.encoder, "load", None)
        if callable(load):
            load()

    def prepare(self, agents: Sequence[AgentCandidate]) -> None:
        """Load the model and embed ``agents``' descriptions now, not on the first turn.

        Blocking (hundreds of milliseconds to seconds): call it from a worker thread, as
        the listener does on startup. Routing the same agent set later reuses the result.
        """
        self.load()
        if len(agents) > 1:
            self._profiles_for(agents)

    async def route(
        self, messages: Sequence[ChatMessage], agents: Sequence[AgentCandidate]
    ) -> RouteDecision:
        """Route the latest user turn of ``messages`` (see :meth:`decide`).

        The work (an encoder pass, a few matrix products) runs in a worker thread, so
        other requests and streams on the event loop are not held up by it.
        """
        if len(agents) <= 1:
            return self.decide(messages, agents)
        return await anyio.to_thread.run_sync(self.decide, messages, agents)

    def decide(
        self, messages: Sequence[ChatMessage], agents: Sequence[AgentCandidate]
    ) -> RouteDecision:
        """The synchronous core of :meth:`route`, for scripts and benchmarks."""
        if not agents:
            return RouteDecision(agents=(), router=self.name, confidence=0.0)
        if len(agents) == 1:
            return RouteDecision(agents=(agents[0].id,), router=self.name, confidence=1.0)
        turns = _routing_turns(messages, self.settings.max_turns)
        last_index = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=-1)
        if last_index < 0:
            return RouteDecision(agents=(), router=self.name, confidence=0.0)
        serial, profiles = self._profiles_for(agents)
        history, last = turns[:last_index], turns[last_index][1]
        # Fillers ("No, thanks.", "Great.") cannot be a request of their own.
        clauses = [c for c in split_clauses(last) if words(c)]
        clauses = clauses if len(clauses) > 1 else []
        # One encoder pass for everything new: the user turns (only the latest is new in
        # a live conversation) and the latest turn's clauses.
        self._ensure_vectors(
            [*(t for role, t in turns[: last_index + 1] if role == "user"), *clauses]
        )
        tracker = TopicTracker(len(agents), self.settings.topic)
        for role, text in history:
            if role == "user":
                tracker.user_turn(self._turn_scores(serial, profiles, text), switch=self._cue(text))
            else:
                tracker.assistant_turn(self._reply_scores(serial, profiles, text))
        turn = self._read_turn(serial, profiles, last, clauses)
        first = not any(role == "user" for role, _ in history)
        verdict = self._two_intents(turn, first) or (
            self._off_topic_first(turn) if first else self._off_topic_later(turn, history)
        )
        if verdict is None:
            belief = tracker.user_turn(turn.scores, switch=self._cue(last))
            if first:
                verdict = self._first_turn(turn)
            else:
                winner = int(np.argmax(belief))
                p = min(max(float(belief[winner]), 1e-6), 1 - 1e-6)
                verdict = ((winner,), "follow_on", math.log(p / (1 - p)))
        chosen, reason, margin = verdict
        confidence = calibrated(reason, margin, self.settings.calibration)
        details = {"top_score": turn.relevance, "margin": margin}
        return RouteDecision(
            tuple(profiles.ids[i] for i in chosen),
            self.name,
            confidence=confidence,
            details=details,
            reason=reason,
        )

    # -- parts -------------------------------------------------------------------------

    def _cue(self, text: str) -> float | None:
        return self.settings.cue_switch if _NEW_TOPIC.search(text) else None

    def _read_turn(
        self, serial: int, profiles: AgentProfiles, text: str, clauses: Sequence[str]
    ) -> _Turn:
        clause_scores = [self._turn_scores(serial, profiles, c) for c in clauses]
        scores = self._turn_scores(serial, profiles, text)
        vector = self._vectors.get(text)
        if vector is None:  # evicted meanwhile: tiny cache
            vector = normalize(self.encoder.encode([text]))[0]
        relevance = max(float(s.max()) for s in [scores, *clause_scores])
        return _Turn(text, scores, clause_scores, relevance, profiles.offtopic_margin(vector))

    def _two_intents(self, turn: _Turn, first: bool) -> _Verdict | None:
        s = self.settings
        found = two_intents(
            turn.scores,
            turn.clauses,
            floor=s.multi_floor,
            gap=s.multi_gap,
            threshold=s.multi_threshold,
            margin=s.multi_margin if first else s.multi_margin_later,
            support_margin=s.multi_support_margin,
            own_best=s.multi_own_best,
            clear=s.multi_clear,
        )
        return None if found is None else (found.agents, "two_intents", found.margin)

    def _off_topic_first(self, turn: _Turn) -> _Verdict | None:
        s = self.settings
        below = s.oos_threshold - turn.relevance
        closer = turn.offtopic - s.offtopic_margin
        if below > 0 or (closer > 0 and turn.relevance < s.offtopic_ceiling):
            return ((), "off_topic", max(below, min(closer, s.offtopic_ceiling - turn.relevance)))
        return None

    def _off_topic_later(self, turn: _Turn, history: Sequence[tuple[str, str]]) -> _Verdict | None:
        s = self.settings
        seen = {w for _, text in history for w in words(text)}
        novel = sum(w not in seen for w in words(turn.text))
        low, near = novel >= s.novel_words, novel >= s.novel_words_offtopic
        if not (low or near):
            return None
        similarity = self._context_similarity(turn.text, history)
        below = (
            min(s.oos_followup_threshold - turn.relevance, s.context_similarity - similarity)
            if low
            else -math.inf
        )
        closer = (
            min(
                turn.offtopic
                - s.offtopic_margin_followup
                - (0.0 if low else s.offtopic_margin_short_extra),
                s.offtopic_context_similarity - similarity,
            )
            if near
            else -math.inf
        )
        if below > 0 or closer > 0:
            return ((), "off_topic_later", max(below, closer))
        return None

    def _context_similarity(self, text: str, history: Sequence[tuple[str, str]]) -> float:
        # A long assistant reply is stood for by its lead: what it is about comes first, and
        # the encoder's cost grows with the tokens.
        recent = [
            _lead(t) if role == "assistant" else t for role, t in history[-_CONTEXT_MESSAGES:]
        ]
        if not recent:
            return 0.0
        self._ensure_vectors([text, *recent])
        vector = self._vectors.get(text)
        rows = [self._vectors.get(t) for t in recent]
        if vector is None or any(r is None for r in rows):  # evicted meanwhile
            fresh = normalize(self.encoder.encode([text, *recent]))
            vector, matrix = fresh[0], fresh[1:]
        else:
            matrix = np.stack([r for r in rows if r is not None])
        return float((matrix @ vector).max())

    def _first_turn(self, turn: _Turn) -> _Verdict:
        order = np.argsort(turn.scores)[::-1]
        gap = float(turn.scores[order[0]] - turn.scores[order[1]])
        clearance = turn.relevance - self.settings.oos_threshold
        return ((int(order[0]),), "first_turn", min(gap, clearance))

    def _profiles_for(self, agents: Sequence[AgentCandidate]) -> tuple[int, AgentProfiles]:
        key = agent_set_key(agents)
        cached = self._profiles.get(key)
        if cached is not None:
            return cached
        # One builder per router: concurrent first turns wait for it instead of each
        # embedding the same descriptions (and publishing competing serials).
        with self._build_lock:
            cached = self._profiles.get(key)
            if cached is not None:
                return cached
            profiles = AgentProfiles.build(
                agents, self._embed, offtopic_overlap=self.settings.offtopic_overlap
            )
            self._profile_serial += 1
            entry = (self._profile_serial, profiles)
            self._profiles.put(key, entry)
            self.profile_builds += 1
        return entry

    def _embed(self, texts: Sequence[str]) -> Vectors:
        self._ensure_vectors(texts)
        rows = [self._vectors.get(t) for t in texts]
        if any(row is None for row in rows):  # evicted meanwhile: tiny cache, big agent set
            return normalize(self.encoder.encode(list(texts)))
        return np.stack([row for row in rows if row is not None])

    def _ensure_vectors(self, texts: Sequence[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if self._vectors.get(t) is None))
        if not missing:
            return
        vectors = normalize(self.encoder.encode(missing))
        for text, vector in zip(missing, vectors, strict=True):
            self._vectors.put(text, vector)

    def _reply_scores(self, serial: int, profiles: AgentProfiles, text: str) -> Scores:
        # Assistant replies are read by their words only: cheap, and nearly as good.
        key = (-serial, text)
        cached = self._scores.get(key)
        if cached is None:
            cached = profiles.lexical(text, self.settings.weights)
            self._scores.put(key, cached)
        return cached

    def _turn_scores(self, serial: int, profiles: AgentProfiles, text: str) -> Scores:
        key = (serial, text)
        cached = self._scores.get(key)
        if cached is not None:
            return cached
        vector = self._vectors.get(text)
        if vector is None:
            self._ensure_vectors([text])
            vector = self._vectors.get(text)
            assert vector is not None
        scores = profiles.scores(vector, text, self.settings.weights)
        self._scores.put(key, scores)
        return scores


def _lead(text: str, limit: int = _REPLY_LEAD) -> str:
    """The first ``limit`` characters of ``text``, cut at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit]


def _routing_turns(messages: Sequence[ChatMessage], limit: int) -> list[tuple[str, str]]:
    """The conversation as the router reads it: user and assistant text, newest ``limit``."""
    turns: list[tuple[str, str]] = []
    for message in messages:
        if message.role in _IGNORED_ROLES:
            continue
        text = message.text.strip()
        if text:
            turns.append((message.role, text))
    return turns[-limit:]
