"""A strict little parser for the Prometheus text format, to read our output back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


@dataclass
class Family:
    name: str
    help: str = ""
    type: str = ""
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def _labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _LABEL.match(text, pos)
        assert match, f"bad labels at {text[pos:]!r}"
        labels[match.group(1)] = _unescape(match.group(2))
        pos = match.end()
    return labels


def parse(text: str) -> dict[str, Family]:
    assert text.endswith("\n")
    families: dict[str, Family] = {}
    current: Family | None = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            current = families.setdefault(name, Family(name))
            current.help = _unescape(help_text)
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in ("counter", "gauge", "histogram"), line
            families.setdefault(name, Family(name)).type = kind
        else:
            match = _SAMPLE.fullmatch(line)
            assert match, f"bad sample line {line!r}"
            assert current is not None, line
            assert match.group(1).startswith(current.name), line
            value = float(match.group(4).replace("+Inf", "inf"))
            current.samples.append((match.group(1), _labels(match.group(3) or ""), value))
    return families


def value(families: dict[str, Family], sample: str, **labels: str) -> float:
    for family in families.values():
        for name, got, number in family.samples:
            if name == sample and got == labels:
                return number
    raise KeyError((sample, labels))
