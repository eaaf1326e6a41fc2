"""Off-topic detection: a turn about something none of the agents does.

A cosine threshold alone cannot tell "my paycheck is short" from "a good recipe for
banana bread" when the agents are described in one short line each: both score low for
every agent. What tells them apart is what else the turn is close to. The router keeps a
broad, fixed list of everyday subjects a general assistant gets asked about (food,
weather, sports, programming, pets...) and treats them as competitors: a turn that is
clearly closer to one of them than to any agent is off-topic.

A subject that overlaps the deployment's own agents (the weather subject when there is a
weather agent) is dropped for that agent set, so the competitors never shadow a real
agent. That check reads only the agents' descriptions: nothing here knows any deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plano_asgi.routing.local.encoder import Vectors

__all__ = ["EVERYDAY_SUBJECTS", "OffTopicCompetitors"]

#: Subjects people ask a general assistant about; none names a business process.
EVERYDAY_SUBJECTS: tuple[str, ...] = (
    "Restaurant recommendations and places to eat nearby",
    "Cooking recipes and baking",
    "Weather forecasts",
    "Sports scores, teams and games",
    "Movies, TV shows and streaming recommendations",
    "Music, concerts and event tickets",
    "Books and podcasts recommendations",
    "Video games",
    "Jokes, trivia and fun facts",
    "Pet care and pet names",
    "Gardening and plants",
    "Home cleaning and stain removal",
    "Home repair and DIY projects",
    "Car maintenance and repairs",
    "Public transport, directions and maps",
    "Travel planning, flights and hotels",
    "Local shops and business opening hours",
    "Government offices, driver's licenses and passports",
    "Personal taxes and accounting",
    "Writing code and programming help",
    "Computer and phone tips",
    "Math homework and calculations",
    "Language learning and translation",
    "Tutors and classes",
    "Fitness workouts and exercise",
    "Diet and nutrition",
    "Dating and relationships advice",
    "Parties, birthdays and gift ideas",
    "Fashion and clothing style",
    "Beauty and hair care",
    "Shopping for products and deals",
    "Real estate and moving",
    "News and politics",
    "History and general knowledge",
    "Science questions",
    "Philosophy and the meaning of life",
    "Poems, stories and creative writing",
    "Dentists, doctors and local service providers",
    "Childcare and parenting tips",
    "Religion and spirituality",
    "Time, dates and time zones",
    "Small talk and chit-chat",
    "Weddings and wedding planning",
    "Astrology and horoscopes",
    "Celebrities and gossip",
    "Art, museums and photography",
    "Camping, hiking and the outdoors",
    "Furniture and interior decorating",
    "Personal finance tips and budgeting",
    "Jobs elsewhere, resumes and career advice",
    "Lawyers, notaries and legal paperwork in general",
    "Volunteering and charities",
    "Holidays, public holidays and calendars",
    "Mental health, stress and motivation quotes",
)


@dataclass(frozen=True, slots=True)
class OffTopicCompetitors:
    """The everyday subjects that do not overlap one agent set, as unit vectors."""

    vectors: Vectors

    @classmethod
    def build(
        cls, subjects: Vectors, agent_vectors: Vectors, *, overlap: float
    ) -> OffTopicCompetitors:
        """Keep the ``subjects`` (rows: the vectors of :data:`EVERYDAY_SUBJECTS`) whose
        best cosine with any agent text (rows of ``agent_vectors``: the agents'
        descriptions and pieces) is below ``overlap``."""
        if agent_vectors.size == 0:
            return cls(subjects)
        closest = (subjects @ agent_vectors.T).max(axis=1)
        return cls(subjects[closest < overlap])

    def best(self, vector: Vectors) -> float:
        """The turn's cosine with its closest competitor (``-1`` when none is left)."""
        if not len(self.vectors):
            return -1.0
        return float(np.max(self.vectors @ vector))
