"""Keys echoed the way providers and agents echo them, and checks that none got through."""

from __future__ import annotations

from urllib.parse import quote

import pytest

KEY = "sk-proj/AbC-def_0123456789xyz"
CLIENT_KEY = "client-token/with-dash_0123456789"


def forms(secret: str) -> dict[str, str]:
    """How providers echo ``secret`` inside a JSON string (the text between the quotes)."""
    return {
        "raw": secret,
        "json slash": secret.replace("/", "\\/"),
        "json u002d": secret.replace("-", "\\u002d"),
        "json U002D": secret.replace("-", "\\u002D"),
        "all escaped": "".join(f"\\u{ord(c):04x}" for c in secret),
        "url-encoded": quote(secret, safe=""),
    }


FORMS = list(forms(KEY))


def said(form: str, secret: str = KEY) -> str:
    """A JSON string literal (quotes included) with ``secret`` echoed in ``form``."""
    return '"your key ' + forms(secret)[form] + ' is wrong, sorry"'


CLEAN = "your key [redacted] is wrong, sorry"


def leaks(text: str, *secrets: str) -> list[str]:
    return [name for s in secrets for name, f in forms(s).items() if f in text]


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
