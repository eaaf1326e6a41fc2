"""Dates and forecast lengths resolve against the ``today`` they are given."""

from __future__ import annotations

from datetime import date

import pytest

from examples.travel.lib.dates import forecast_days, resolve_date

MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("flights today", date(2026, 11, 23), id="today"),
        pytest.param("tonight", date(2026, 11, 23), id="tonight"),
        pytest.param("tomorrow morning", date(2026, 11, 24), id="tomorrow"),
        pytest.param("the day after tomorrow", date(2026, 11, 25), id="day-after"),
        pytest.param("yesterday", date(2026, 11, 22), id="yesterday"),
        pytest.param("on Friday", date(2026, 11, 27), id="weekday"),
        pytest.param("on monday", date(2026, 11, 23), id="same-weekday-is-today"),
        pytest.param("next Monday", date(2026, 11, 30), id="next-same-weekday"),
        pytest.param("in 3 days", date(2026, 11, 26), id="in-n-days"),
        pytest.param("on 2026-12-01", date(2026, 12, 1), id="iso"),
        pytest.param("Nov 30", date(2026, 11, 30), id="month-day"),
        pytest.param("the 3rd of December", date(2026, 12, 3), id="day-of-month"),
        pytest.param("January 2nd", date(2027, 1, 2), id="next-year"),
        pytest.param("2026-02-30", None, id="invalid-iso"),
        pytest.param("weather in Paris", None, id="none"),
    ],
)
def test_resolve_date(text, expected):
    assert resolve_date(text, MONDAY) == expected


def test_resolve_date_moves_with_today():
    assert resolve_date("tomorrow", date(2030, 12, 31)) == date(2031, 1, 1)
    assert resolve_date("on Friday", date(2030, 12, 31)) == date(2031, 1, 3)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        pytest.param("weather in Paris", 1, id="now"),
        pytest.param("weather in Paris tomorrow", 2, id="tomorrow"),
        pytest.param("forecast for Paris", 7, id="forecast"),
        pytest.param("Paris this week", 7, id="week"),
        pytest.param("Paris for 5 days", 5, id="n-days"),
        pytest.param("a 10-day outlook", 10, id="n-day"),
        pytest.param("three days in Paris", 3, id="word-number"),
        pytest.param("next 40 days", 16, id="capped"),
        pytest.param("Paris on Thursday", 4, id="named-day"),
        pytest.param("forecast until Dec 20", 16, id="far-date-capped"),
    ],
)
def test_forecast_days(text, days):
    assert forecast_days(text, MONDAY) == days
