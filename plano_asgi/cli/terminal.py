"""Terminal output for the interactive commands: colour when wanted, words kept whole.

Only ever used when the stream is a terminal; pipes and files get plain text, so
transcripts and tests see exactly what the listener sent.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import Protocol, TextIO

__all__ = ["Style", "WordWrap", "Writer", "wants_color"]


class Writer(Protocol):
    """What the chat writes to: a text stream, or a :class:`WordWrap` around one."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


def wants_color(stream: TextIO) -> bool:
    """Whether to style output on ``stream``: a terminal, ``NO_COLOR`` unset, not dumb."""
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


class Style:
    """ANSI bold/dim/label colours when ``enabled``, the text unchanged otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def bold(self, text: str) -> str:
        """``text`` in bold."""
        return f"\x1b[1m{text}\x1b[0m" if self.enabled else text

    def dim(self, text: str) -> str:
        """``text`` dimmed (hints, status lines)."""
        return f"\x1b[2m{text}\x1b[0m" if self.enabled else text

    def label(self, text: str) -> str:
        """``text`` as a dim cyan label (which agent answered)."""
        return f"\x1b[2;36m{text}\x1b[0m" if self.enabled else text


_TOKENS = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|[\r\n]|[ \t]+|[^\s\x1b]+|\s|\x1b")


class WordWrap:
    """Wraps streamed text at word boundaries, so a terminal never splits a word in two.

    Text arrives in arbitrary pieces, so the last word of a piece is held until the next
    piece shows whether it continues; :meth:`close` writes it out. ANSI escapes take no
    columns; ``\\r`` and ``\\n`` start a new line. Words longer than the line are written
    as they are (the terminal folds them).
    """

    def __init__(self, out: TextIO, width: int | None = None) -> None:
        self.out = out
        self.width = width or max(20, shutil.get_terminal_size().columns - 1)
        self.column = 0
        self._word = ""

    def write(self, text: str, /) -> int:
        """Write ``text``, breaking lines between words where it would overflow."""
        for token in _TOKENS.findall(text):
            if token.startswith("\x1b"):
                self._end_word()
                self.out.write(token)
            elif token in ("\r", "\n"):
                self._end_word()
                self.out.write(token)
                self.column = 0
            elif token.isspace():
                self._end_word()
                if self.column + len(token) > self.width:
                    self.out.write("\n")  # the blank would overflow: break here instead
                    self.column = 0
                else:
                    self.out.write(token)
                    self.column += len(token)
            else:
                self._word += token
        return len(text)

    def flush(self) -> None:
        """Flush the stream. A word still arriving stays held until a blank, a line end or
        :meth:`close` shows it is complete, so it is never broken across lines."""
        self.out.flush()

    def close(self) -> None:
        """Write the word held back and flush (the stream stays open)."""
        self._end_word()
        self.out.flush()

    def _end_word(self) -> None:
        if not self._word:
            return
        if self.column and self.column + len(self._word) > self.width:
            self.out.write("\n")
            self.column = 0
        self.out.write(self._word)
        self.column += len(self._word)
        self._word = ""
