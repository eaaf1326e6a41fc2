"""Dates in questions: "tomorrow", "on Friday", "2026-11-24", "for 5 days", "this week".

Everything resolves against a ``today`` you pass in, never against a hard-coded date, so the
agents can take a clock and tests can pin one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "MAX_FORECAST_DAYS",
    "Clock",
    "forecast_days",
    "resolve_date",
    "system_clock",
]

Clock = Callable[[], datetime]
"""Returns "now" as an aware datetime; inject a fixed one in tests."""

MAX_FORECAST_DAYS = 16
"""Open-Meteo forecasts at most 16 days ahead."""

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_MONTH_DAY = re.compile(r"\b([a-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3})[a-z]*\b")
_IN_DAYS = re.compile(r"\bin\s+(\d{1,2})\s+days?\b")
_N_DAYS = re.compile(r"\b(\d{1,2})[\s-]+days?\b")
_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16,
}  # fmt: skip
_WORD_DAYS = re.compile(r"\b(" + "|".join(_WORD_NUMBERS) + r")[\s-]+days?\b")


def system_clock() -> datetime:
    """The real clock (UTC)."""
    return datetime.now(UTC)


def resolve_date(text: str, today: date) -> date | None:
    """The calendar date a question talks about, or None when it names none.

    You get "today"/"tonight", "tomorrow", "day after tomorrow", "yesterday", weekday names
    (the next such day, today included), "in N days", ISO dates and "Nov 24"/"24 November"
    (this year, or next year when that date has passed).
    """
    lowered = text.lower()
    if match := _ISO.search(lowered):
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
    if "day after tomorrow" in lowered:
        return today + timedelta(days=2)
    if re.search(r"\btomorrow\b", lowered):
        return today + timedelta(days=1)
    if re.search(r"\b(today|tonight|now)\b", lowered):
        return today
    if re.search(r"\byesterday\b", lowered):
        return today - timedelta(days=1)
    if match := _IN_DAYS.search(lowered):
        return today + timedelta(days=int(match[1]))
    for index, name in enumerate(_WEEKDAYS):
        if re.search(rf"\b{name}\b", lowered):
            ahead = (index - today.weekday()) % 7
            if ahead == 0 and re.search(rf"\bnext\s+{name}\b", lowered):
                ahead = 7
            return today + timedelta(days=ahead)
    return _month_day(lowered, today)


def _month_day(lowered: str, today: date) -> date | None:
    for pattern, month_group, day_group in ((_MONTH_DAY, 1, 2), (_DAY_MONTH, 2, 1)):
        for match in pattern.finditer(lowered):
            prefix = match[month_group]
            if prefix not in _MONTHS:
                continue
            month = _MONTHS.index(prefix) + 1
            try:
                found = date(today.year, month, int(match[day_group]))
            except ValueError:
                continue
            if found < today - timedelta(days=7):
                found = found.replace(year=today.year + 1)
            return found
    return None


def forecast_days(text: str, today: date) -> int:
    """How many forecast days (1..16) a weather question needs, counting today as day one.

    "tomorrow" needs 2, "forecast"/"week"/"weekend" 7, "N days" N, a named date up to it;
    a plain "what's the weather" needs only today.
    """
    lowered = text.lower()
    days = 1
    if match := _N_DAYS.search(lowered) or _WORD_DAYS.search(lowered):
        count = match[1]
        days = int(count) if count.isdigit() else _WORD_NUMBERS[count]
    elif re.search(r"\b(forecast|week|weekend|coming days|next few days)\b", lowered):
        days = 7
    target = resolve_date(lowered, today)
    if target is not None and target > today:
        days = max(days, (target - today).days + 1)
    return max(1, min(MAX_FORECAST_DAYS, days))
