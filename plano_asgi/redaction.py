"""Keys out of what clients and logs see, in whatever form an upstream echoes them.

A provider (or an agent) that echoes a key seldom echoes it byte for byte: JSON encoders
write ``/`` as ``\\/`` and any character as ``\\uXXXX`` (``sk\\u002dproj``), URLs carry
``%XX``. A :class:`Redactor` matches each secret as the sequence of its characters where
*each* character may be raw, JSON-escaped or percent-encoded on its own, so mixed forms are
caught as well as the pure ones: it matches what the text decodes to, without decoding it.
What matches becomes ``[redacted]``; everything else is left exactly as it was (a body
without a key comes out as the same bytes).

:class:`StreamRedactor` does the same for a body that arrives in chunks. A key split
between two chunks is caught by holding back the end of a chunk, but only when that end
could be the start of a key (``...", "content": "sk-pr``), and never more than the longest
form of a key minus one byte. A chunk that ends anywhere else (an SSE event ends with a
blank line) is passed on whole, at once.

Secrets shorter than :data:`MIN_SECRET_LENGTH` are ignored: matching a two-letter
"token" would rewrite ordinary text, and no real key is that short.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

__all__ = [
    "MIN_SECRET_LENGTH",
    "NO_SECRETS",
    "REDACTED",
    "REQUEST_LOGGERS",
    "RedactingFilter",
    "Redactor",
    "StreamRedactor",
    "install_log_redaction",
    "redacting",
]

REDACTED: Final = "[redacted]"
MIN_SECRET_LENGTH: Final = 8
"""Shorter secrets are not looked for (see the module doc)."""

_REDACTED_BYTES = REDACTED.encode()
_HEX = "0123456789abcdef"


def _hex(value: int, width: int) -> str:
    # Hex digits in either case: \u002D and %2d are as valid as \u002d and %2D.
    digits = f"{value:0{width}x}"
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


def _secret_pattern(secret: str) -> str:
    """The regex for every form of ``secret``.

    One branch per form of the first character, each starting with a literal: that lets
    ``re`` skip ahead to the bytes a form can start with instead of trying every offset
    (with two secrets, a 1 KB body without a key took 22 us as one group per character
    and 6 us this way).
    """
    rest = "".join(_char_forms_pattern(c) for c in secret[1:])
    return "|".join(form + rest for form in _char_pattern_forms(secret[0]))


def _char_forms_pattern(char: str) -> str:
    return "(?:" + "|".join(_char_pattern_forms(char)) + ")"


def _char_pattern_forms(char: str) -> list[str]:
    """The regexes for one character of a secret: raw, JSON-escaped or percent-encoded."""
    forms = [re.escape(char)]
    code = ord(char)
    if code < 0x10000:
        forms.append(r"\\u" + _hex(code, 4))
    if char in '/"\\':
        forms.append(re.escape("\\" + char))
    forms.append("".join("%" + _hex(byte, 2) for byte in char.encode()))
    if char == " ":
        forms.append(r"\+")
    return forms


def _char_forms(char: str) -> tuple[bytes, tuple[bytes, ...]]:
    """The raw bytes of ``char`` and its escaped forms (lower-case hex), for prefix checks."""
    escaped = [f"\\u{ord(char):04x}".encode()] if ord(char) < 0x10000 else []
    if char in '/"\\':
        escaped.append(b"\\" + char.encode())
    escaped.append("".join(f"%{byte:02x}" for byte in char.encode()).encode())
    if char == " ":
        escaped.append(b"+")
    return char.encode(), tuple(escaped)


class Redactor:
    """Replaces a fixed set of secrets by ``[redacted]``, in text and in bytes.

    Build one per set of keys and keep it: the patterns are compiled once. A redactor
    without secrets (none configured, or all too short) returns its input unchanged at the
    cost of one attribute check.
    """

    __slots__ = ("_alphabet", "_bytes", "_chars", "_first", "_text", "_window", "secrets")

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        kept = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        self.secrets: Final = frozenset(kept)
        """The secrets looked for."""
        ordered = sorted(kept, key=len, reverse=True)  # a longer key containing a shorter one
        text = "|".join(map(_secret_pattern, ordered))
        self._text = re.compile(text) if text else None
        self._bytes = re.compile(text.encode()) if text else None
        self._chars = [[_char_forms(c) for c in secret] for secret in ordered]
        # The longest form of a key: each character in its longest form (raw or escaped).
        longest = (sum(len(max((raw, *esc), key=len)) for raw, esc in c) for c in self._chars)
        self._window = max(longest, default=2) - 1
        # Every byte that can be part of some form of some secret (a chunk's tail with any
        # other byte after it is no cut-off key), and the bytes a form can start with.
        alphabet = {b for secret in ordered for b in secret.encode()}
        alphabet.update(b"\\u%+" + _HEX.encode() + _HEX.upper().encode())
        self._alphabet = bytes(sorted(alphabet))
        first = {b for chars in self._chars for b in chars[0][0][:1]} if ordered else set()
        self._first = bytes(sorted(first | {ord("\\"), ord("%"), ord("+")}))

    def __bool__(self) -> bool:
        return self._text is not None

    def __repr__(self) -> str:  # never the secrets themselves
        return f"Redactor({len(self.secrets)} secrets)"

    def with_secret(self, secret: str | None) -> Redactor:
        """This redactor plus ``secret`` (a client's own key); itself when nothing is added."""
        if not secret or len(secret) < MIN_SECRET_LENGTH or secret in self.secrets:
            return self
        return _combined(self.secrets, secret)

    def text(self, text: str) -> str:
        """``text`` with every form of every secret replaced by ``[redacted]``."""
        return text if self._text is None else self._text.sub(REDACTED, text)

    def body(self, data: bytes) -> bytes:
        """``data`` with every form of every secret replaced by ``[redacted]``."""
        return data if self._bytes is None else self._bytes.sub(_REDACTED_BYTES, data)

    def json(self, value: Any) -> Any:
        """Parsed JSON with every string in it redacted (``value`` itself when no key)."""
        if self._text is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return value

    def stream(self) -> StreamRedactor:
        """A :class:`StreamRedactor` for one body arriving in chunks."""
        return StreamRedactor(self)

    def held_back(self, data: bytes) -> int:
        """How many bytes at the end of ``data`` could be the start of a secret's form."""
        if self._bytes is None or not data:
            return 0
        window = data[-self._window :]
        run = len(window) - len(window.rstrip(self._alphabet))
        if not run:
            return 0
        tail = window[-run:]
        for start, byte in enumerate(tail):
            if byte in self._first and self._is_prefix(tail[start:]):
                return run - start
        return 0

    def _is_prefix(self, tail: bytes) -> bool:
        """Whether ``tail`` is where some form of some secret starts (and is cut off)."""
        lowered = tail.lower()
        for chars in self._chars:
            positions = {0}
            for raw, escaped in chars:
                after: set[int] = set()
                for at in positions:
                    for form, seen in ((raw, tail), *((e, lowered) for e in escaped)):
                        rest = seen[at : at + len(form)]
                        if len(rest) < len(form) and form.startswith(rest):
                            return True  # the tail ends inside this character's form
                        if rest == form:
                            after.add(at + len(form))
                if not after:
                    break
                positions = after
        return False


NO_SECRETS: Final = Redactor()
"""A redactor without secrets: passes everything through unchanged."""


@functools.lru_cache(maxsize=1024)
def _combined(base: frozenset[str], secret: str) -> Redactor:
    return Redactor((*base, secret))


class StreamRedactor:
    """Redacts one chunked body: :meth:`feed` every chunk, then :meth:`flush` at its end.

    A chunk comes back at once, minus at most the end that could be the start of a key
    (see the module doc); that end is prepended to the next chunk.
    """

    __slots__ = ("_carry", "_redactor")

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._carry = b""

    def feed(self, chunk: bytes) -> bytes:
        """What of ``chunk`` (after anything held back) may go on now, redacted."""
        redactor = self._redactor
        if not redactor:
            return chunk
        data = redactor.body(self._carry + chunk if self._carry else chunk)
        held = redactor.held_back(data)
        if held:
            self._carry = data[-held:]
            return data[:-held]
        self._carry = b""
        return data

    def flush(self) -> bytes:
        """What is still held back at the end of the body (it was not a key)."""
        carry, self._carry = self._carry, b""
        return carry


_current: ContextVar[Redactor | None] = ContextVar("plano_redactor", default=None)

#: The loggers of the request path (a filter on ``plano_asgi`` alone would not see the
#: records of its children: logging runs only the filters of the logger called).
REQUEST_LOGGERS = (
    "plano_asgi",
    "plano_asgi.access",
    "plano_asgi.agent_tools",
    "plano_asgi.filters",
    "plano_asgi.gateway",
    "plano_asgi.listener",
    "plano_asgi.responses",
    "plano_asgi.routing",
    "plano_asgi.state",
)


@contextmanager
def redacting(redactor: Redactor) -> Iterator[None]:
    """Within this block (and the tasks it starts), log records are redacted by ``redactor``.

    Each exchange wraps its request in it, so :class:`RedactingFilter` knows the keys of
    the request being served, the client's own included.
    """
    token = _current.set(redactor)
    try:
        yield
    finally:
        _current.reset(token)


class RedactingFilter(logging.Filter):
    """Redacts a log record's message (and traceback) with the current request's keys.

    It rewrites the record in place, so every handler (yours, pytest's ``caplog``) gets the
    redacted text. Outside a request (no :func:`redacting` block) records pass unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = _current.get()
        if not redactor:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format: let the handler report it
            return True
        clean = redactor.text(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_text is None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redactor.text(text)
        return True


_FILTER = RedactingFilter()


def install_log_redaction(names: Iterable[str] = REQUEST_LOGGERS) -> None:
    """Put the one :class:`RedactingFilter` on the loggers ``names`` (once each).

    The gateway and the listeners call it when they are built; it changes no level and no
    handler.
    """
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
