"""Word wrapping of streamed answers on a terminal."""

from __future__ import annotations

import io

import pytest

from plano_asgi.cli.terminal import Style, WordWrap


def wrapped(pieces: list[str], width: int) -> str:
    out = io.StringIO()
    wrap = WordWrap(out, width)
    for piece in pieces:
        wrap.write(piece)
        wrap.flush()
    wrap.close()
    return out.getvalue()


def test_lines_break_between_words_even_when_a_word_arrives_in_pieces() -> None:
    pieces = ["Weather in At", "lanta, Georgia", ", United States: right now 18.3 °C", "\n"]
    text = wrapped(pieces, width=20)
    assert text.splitlines() == [
        "Weather in Atlanta, ",
        "Georgia, United ",
        "States: right now ",
        "18.3 °C",
    ]
    assert " ".join(line.strip() for line in text.splitlines()) == "".join(pieces).strip()


def test_real_line_breaks_and_indentation_are_kept() -> None:
    text = wrapped(["Forecast:\n  - Mon: rain\n  - Tue: sun\n"], width=40)
    assert text == "Forecast:\n  - Mon: rain\n  - Tue: sun\n"


def test_escapes_take_no_columns_and_carriage_return_starts_over() -> None:
    dim = Style(True).dim("...")
    text = wrapped([dim, "\r\x1b[K", Style(True).label("[weather_agent]"), "\n", "a b c d"], 8)
    assert text == f"{dim}\r\x1b[K{Style(True).label('[weather_agent]')}\na b c d"


@pytest.mark.parametrize("width", [1, 5])
def test_a_word_longer_than_the_line_is_written_whole(width: int) -> None:
    text = wrapped(["see https://www.flightaware.com/aeroapi/portal"], width)
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines == ["see", "https://www.flightaware.com/aeroapi/portal"]
