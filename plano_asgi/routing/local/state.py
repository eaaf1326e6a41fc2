"""Conversation state: which agent holds the topic, carried turn by turn.

A short follow-up ("yes please", "and the address?") says almost nothing about the agent
it is meant for; the conversation does. The router treats the agent in charge as a hidden
state that stays put from one user turn to the next with probability ``1 - switch`` and
moves to any agent with probability ``switch``, and reads every turn as evidence about
it (a hidden Markov model, filtered forward). A turn that clearly names a new topic
outweighs the prior and hands off; a vague one leaves the prior, so the topic sticks.
Assistant replies count as weaker evidence for the agent that wrote them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["TopicSettings", "TopicTracker"]

Distribution = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TopicSettings:
    """How quickly the topic moves.

    ``temperature`` turns a user turn's scores into evidence (lower = each turn counts
    more); ``switch`` is the prior chance of a handoff between two user turns;
    ``assistant_temperature`` does for assistant replies what ``temperature`` does for
    user turns (``0`` ignores replies).
    """

    temperature: float = 0.11
    switch: float = 0.15
    assistant_temperature: float = 0.3


class TopicTracker:
    """The forward filter over one conversation. Cheap: a few vector operations per turn."""

    __slots__ = ("_belief", "_settings")

    def __init__(self, size: int, settings: TopicSettings) -> None:
        self._settings = settings
        self._belief: Distribution = np.full(size, 1.0 / size) if size else np.zeros(0)

    @property
    def belief(self) -> Distribution:
        """The current probability that each agent holds the topic."""
        return self._belief

    def user_turn(
        self, scores: npt.NDArray[np.float64], *, switch: float | None = None
    ) -> Distribution:
        """Move the topic (maybe), then weigh the user turn's evidence; returns the belief.

        ``switch`` overrides the handoff prior for this turn (a turn that says "I also
        need..." announces a new topic).
        """
        size = self._belief.size
        switch = self._settings.switch if switch is None else switch
        prior = (1.0 - switch) * self._belief + switch / size
        self._belief = _update(prior, scores, self._settings.temperature)
        return self._belief

    def assistant_turn(self, scores: npt.NDArray[np.float64]) -> Distribution:
        """Weigh an assistant reply as evidence for the agent that wrote it (no move)."""
        if self._settings.assistant_temperature > 0 and float(scores.max(initial=0.0)) > 0:
            self._belief = _update(self._belief, scores, self._settings.assistant_temperature)
        return self._belief


def _update(
    prior: Distribution, scores: npt.NDArray[np.float64], temperature: float
) -> Distribution:
    likelihood = np.exp((scores - scores.max()) / temperature)
    posterior = prior * likelihood
    total = float(posterior.sum())
    if not np.isfinite(total) or total <= 0.0:
        return np.full(prior.size, 1.0 / prior.size)
    result: Distribution = posterior / total
    return result
