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
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio.to_thread
import numpy as np

from plano_asgi.chat import ChatMessage
from plano_asgi.routing.base import AgentCandidate, RouteDecision
from plano_asgi.routing.local.clauses import split_clauses
from plano_asgi.routing.local.encoder import Encoder, MiniLMEncoder, Vectors, normalize
from plano_asgi.routing.local.lexical import words
from plano_asgi.routing.local.profiles import AgentProfiles, Scores, ScoreWeights, agent_set_key
from plano_asgi.routing.local.state import TopicSettings, TopicTracker

__all__ = ["LocalRouter", "LocalRouterSettings"]

logger = logging.getLogger(__name__)

MAX_ROUTING_TURNS = 16
_IGNORED_ROLES = frozenset({"system", "developer", "tool"})

# Words that announce another request ("I also need a taxi", "one more thing").
_NEW_TOPIC = re.compile(
    r"\b(?:also|too|as well|another|in addition|additionally|one more thing|besides)\b",
    re.IGNORECASE,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class LocalRouterSettings:
    """The router's global settings, tuned once on the routing dev set (never per agent).

    ``oos_threshold``: a first turn whose best agent scores below it fits no agent.
    ``multi_threshold`` / ``multi_margin``: how clearly a clause must point at an agent to
    anchor a multi-agent turn; once one clause does, the other clauses need only clear
    ``multi_support_margin`` over their runner-up (a clause about flights may still score
    fairly for a weather agent whose description mentions travellers). Clauses are only
    looked at when the whole turn's runner-up agent scores at least ``multi_gate`` and
    within ``multi_gap`` of the best (a turn that asks two agents scores high for both).
    ``confidence_scale``: how far (in score units) a turn must clear the out-of-scope
    threshold to be fully confident. ``cue_switch``: the handoff prior for a turn with
    words that announce another request ("also", "another", "as well"); ``None`` = as usual.
    """

    weights: ScoreWeights = field(default_factory=ScoreWeights)
    topic: TopicSettings = field(default_factory=TopicSettings)
    oos_threshold: float = 0.5
    multi_threshold: float = 0.85
    multi_margin: float = 0.55
    multi_support_margin: float = 0.3
    multi_gate: float = 0.7
    multi_gap: float = 0.3
    cue_switch: float | None = 0.5
    confidence_scale: float = 0.4
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
        users = [text for role, text in turns if role == "user"]
        if not users:
            return RouteDecision(agents=(), router=self.name, confidence=0.0)
        serial, profiles = self._profiles_for(agents)
        last = users[-1]
        self._ensure_vectors(users)

        tracker = TopicTracker(len(agents), self.settings.topic)
        last_index = max(i for i, (role, _) in enumerate(turns) if role == "user")
        for role, text in turns[: last_index + 1]:
            if role == "user":
                switch = self.settings.cue_switch if _NEW_TOPIC.search(text) else None
                tracker.user_turn(self._turn_scores(serial, profiles, text), switch=switch)
            else:
                tracker.assistant_turn(self._reply_scores(serial, profiles, text))
        belief = tracker.belief
        turn_scores = self._turn_scores(serial, profiles, last)
        top = float(turn_scores.max())
        winner = int(np.argmax(belief))
        posterior = float(belief[winner])
        details = {"top_score": top, "posterior": posterior}
        scale = self.settings.confidence_scale
        clearance = (top - self.settings.oos_threshold) / scale
        if len(users) == 1 and clearance < 0:
            confidence = min(1.0, 0.5 - clearance / 2)
            return RouteDecision((), self.name, confidence=confidence, details=details)

        chosen = self._multi_intent(serial, profiles, last, turn_scores)
        if len(chosen) >= 2:
            details["multi_intent"] = 1.0
            return RouteDecision(
                tuple(profiles.ids[i] for i in chosen),
                self.name,
                confidence=posterior,
                details=details,
            )
        confidence = posterior
        if len(users) == 1:
            confidence = min(posterior, 0.5 + min(clearance, 1.0) / 2)
        return RouteDecision(
            (profiles.ids[winner],), self.name, confidence=confidence, details=details
        )

    # -- parts -------------------------------------------------------------------------

    def _multi_intent(
        self, serial: int, profiles: AgentProfiles, text: str, turn_scores: Scores
    ) -> list[int]:
        """Agents that clauses of ``text`` point at clearly, in clause order, without repeats."""
        if len(turn_scores) < 2:
            return []
        top, runner_up = (float(x) for x in np.sort(turn_scores)[-1:-3:-1])
        if runner_up < self.settings.multi_gate or top - runner_up > self.settings.multi_gap:
            return []
        # Fillers ("No, thanks.", "Great.") cannot be a request of their own.
        clauses = [c for c in split_clauses(text) if words(c)]
        if len(clauses) < 2:
            return []
        self._ensure_vectors(clauses)
        settings = self.settings
        chosen: list[int] = []
        anchored = False
        for clause in clauses:
            scores = self._turn_scores(serial, profiles, clause)
            order = np.argsort(scores)[::-1]
            best, second = float(scores[order[0]]), float(scores[order[1]])
            margin = best - second
            if best < settings.multi_threshold or margin < settings.multi_support_margin:
                continue
            anchored = anchored or margin >= settings.multi_margin
            agent = int(order[0])
            if agent not in chosen:
                chosen.append(agent)
        return chosen if anchored and len(chosen) >= 2 else []

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
            profiles = AgentProfiles.build(agents, self._embed)
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
