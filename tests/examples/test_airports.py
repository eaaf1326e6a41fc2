"""Cities, aliases and codes resolve to airports from the built-in table."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from examples.travel.lib.airports import all_airports, resolve_airport


@pytest.mark.parametrize(
    ("text", "iata"),
    [
        pytest.param("Seattle", "SEA", id="city"),
        pytest.param("seattle", "SEA", id="lower-case"),
        pytest.param("SEA", "SEA", id="iata"),
        pytest.param("atl", "ATL", id="iata-lower"),
        pytest.param("KATL", "ATL", id="icao"),
        pytest.param("Sea-Tac", "SEA", id="alias"),
        pytest.param("New York", "JFK", id="two-words"),
        pytest.param("NYC", "JFK", id="short-alias"),
        pytest.param("LaGuardia", "LGA", id="second-airport"),
        pytest.param("Zürich", "ZRH", id="accent"),
        pytest.param("zurich", "ZRH", id="no-accent"),
        pytest.param("St. Louis", "STL", id="punctuation"),
        pytest.param("Heathrow Airport", "LHR", id="airport-suffix"),
        pytest.param("Paris, France", "CDG", id="country-after-comma"),
        pytest.param("Tokyo", "HND", id="asia"),
        pytest.param("São Paulo", "GRU", id="south-america"),
    ],
)
def test_resolve_airport(text, iata):
    airport = resolve_airport(text)
    assert airport is not None
    assert airport.iata == iata


def test_unknown_capitalised_iata_code_passes_through():
    airport = resolve_airport("BZN")
    assert airport is not None
    assert (airport.iata, airport.icao, airport.tz) == ("BZN", "", "UTC")


@pytest.mark.parametrize("text", ["Atlantis", "bzn", "", "the moon"])
def test_unknown_places_do_not_resolve(text):
    assert resolve_airport(text) is None


def test_table_is_large_unique_and_well_formed():
    airports = all_airports()
    assert len(airports) >= 300
    assert len({a.iata for a in airports}) == len(airports)
    assert len({a.icao for a in airports}) == len(airports)
    for airport in airports:
        assert len(airport.iata) == 3
        assert len(airport.icao) == 4
        ZoneInfo(airport.tz)  # raises for an unknown zone
