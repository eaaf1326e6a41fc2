"""Rendering from data: units, WMO conditions, local times."""

from __future__ import annotations

import pytest

from examples.travel.lib.aeroapi import parse_flights
from examples.travel.lib.render import fahrenheit, temperature
from examples.travel.lib.wmo import WMO_CODES, describe_weather_code
from tests.examples.fakes import fixture


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0, "clear sky"),
        (3, "overcast"),
        (45, "fog"),
        (57, "dense freezing drizzle"),
        (65, "heavy rain"),
        (77, "snow grains"),
        (82, "violent rain showers"),
        (86, "heavy snow showers"),
        (99, "thunderstorm with heavy hail"),
        (42, "weather code 42"),
        (None, "unknown conditions"),
    ],
)
def test_describe_weather_code(code, text):
    assert describe_weather_code(code) == text


def test_wmo_table_covers_every_open_meteo_code():
    assert sorted(WMO_CODES) == [
        0,
        1,
        2,
        3,
        45,
        48,
        51,
        53,
        55,
        56,
        57,
        61,
        63,
        65,
        66,
        67,
        71,
        73,
        75,
        77,
        80,
        81,
        82,
        85,
        86,
        95,
        96,
        99,
    ]


@pytest.mark.parametrize(("c", "f"), [(0, 32.0), (100, 212.0), (-40, -40.0), (8.4, 47.12)])
def test_fahrenheit(c, f):
    assert fahrenheit(c) == pytest.approx(f)


def test_temperature_shows_both_units_or_says_missing():
    assert temperature(21.0) == "21.0 °C (69.8 °F)"
    assert temperature(None) == "n/a"


def test_parse_flights_reads_the_aeroapi_shape_and_skips_junk():
    body = fixture("aeroapi_sea_atl.json")
    body["flights"].append({"segments": [{"status": "no ident"}, "junk"]})
    body["flights"].append("junk")
    flights = parse_flights(body)
    assert [f.ident_iata for f in flights] == [
        "DL1542", "AS752", "DL398", "DL2265", "DL566", "AS1288", "DL1110",
    ]  # fmt: skip
    first = flights[0]
    assert (first.gate_origin, first.terminal_destination, first.aircraft_type) == (
        "A5",
        "S",
        "A321",
    )
    assert first.origin_tz == "America/Los_Angeles"
    assert parse_flights({"flights": None}) == []
    assert parse_flights("not json object") == []
