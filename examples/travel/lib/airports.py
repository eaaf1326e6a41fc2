"""Cities and airports: a built-in table of a few hundred major airports, looked up by name.

You can ask for "Seattle", "sea-tac", "SEA" or "KSEA" and get the same :class:`Airport`.
The table ships as ``airports.csv`` next to this module and is read on first use.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Airport",
    "airport_by_code",
    "all_airports",
    "fold",
    "place_names",
    "resolve_airport",
]

_TABLE = Path(__file__).with_name("airports.csv")
_SUFFIXES = re.compile(r"\s+(international\s+)?(airport|intl)$")


@dataclass(frozen=True, slots=True)
class Airport:
    """One airport: codes, the city it serves, and its IANA time zone."""

    iata: str
    icao: str
    city: str
    country: str
    tz: str
    name: str

    @property
    def label(self) -> str:
        """How answers name it: ``Seattle (SEA)``."""
        return f"{self.city} ({self.iata})"


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents and punctuation, keeping its length.

    Keeping the length lets a match in the folded text point back into the original.
    """
    out: list[str] = []
    for char in text:
        base = unicodedata.normalize("NFKD", char)[:1].lower() or " "
        out.append(base if base.isalnum() else " ")
    return "".join(out)


def _key(text: str) -> str:
    return " ".join(fold(text).split())


@functools.cache
def all_airports() -> tuple[Airport, ...]:
    """Every airport in the built-in table, in table order."""
    with _TABLE.open(encoding="utf-8", newline="") as handle:
        return tuple(
            Airport(
                iata=row["iata"],
                icao=row["icao"],
                city=row["city"],
                country=row["country"],
                tz=row["tz"],
                name=row["name"],
            )
            for row in csv.DictReader(handle)
        )


@functools.cache
def _index() -> dict[str, Airport]:
    index: dict[str, Airport] = {}
    with _TABLE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row, airport in zip(rows, all_airports(), strict=True):
        names = [row["city"], row["name"], *row["aliases"].split("|")]
        for name in names:
            key = _key(name)
            if key:
                index.setdefault(key, airport)
    return index


@functools.cache
def _codes() -> dict[str, Airport]:
    codes: dict[str, Airport] = {}
    for airport in all_airports():
        codes[airport.iata] = airport
        codes[airport.icao] = airport
    return codes


@functools.cache
def place_names() -> tuple[str, ...]:
    """Every folded city, airport name and alias in the table, longest first."""
    return tuple(sorted(_index(), key=lambda name: (-len(name), name)))


def airport_by_code(code: str) -> Airport | None:
    """The airport with this IATA or ICAO code (any case), if the table has it."""
    return _codes().get(code.strip().upper())


def resolve_airport(text: str) -> Airport | None:
    """The airport for a city, airport name, alias, or IATA/ICAO code, case-insensitively.

    An unknown but well-formed IATA code typed in capitals ("BZN") is accepted as is, with
    UTC as its time zone, because AeroAPI knows far more airports than this table.
    """
    stripped = text.strip().strip(".?!")
    if not stripped:
        return None
    if found := airport_by_code(stripped):
        return found
    key = _key(stripped)
    candidates = [key, _SUFFIXES.sub("", key), _key(stripped.split(",")[0])]
    for candidate in candidates:
        if candidate and (found := _index().get(candidate)):
            return found
    if re.fullmatch(r"[A-Z]{3}", stripped):
        return Airport(stripped, "", stripped, "", "UTC", stripped)
    return None
