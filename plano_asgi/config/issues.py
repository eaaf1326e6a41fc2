"""Collecting config problems with their key paths, and placing them on YAML lines."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from plano_asgi.errors import ConfigIssue

__all__ = ["IssueCollector", "KeyPath", "did_you_mean", "format_path"]

KeyPath = tuple[str | int, ...]


def format_path(path: Iterable[str | int]) -> str:
    """``("listeners", 0, "agents", 1, "id")`` -> ``listeners[0].agents[1].id``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when ``value`` looks like a typo of one of ``choices``."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


class IssueCollector:
    """Every error and warning found while loading one config, located on the user's file.

    Normalising the config moves things (``llm_providers`` becomes ``model_providers``, the
    legacy ``egress_traffic`` listener becomes ``listeners[0]``); :meth:`rename` records each
    move, so a problem is always reported at the key path *you* wrote, and on its line.
    """

    def __init__(self, lines: Mapping[KeyPath, int] | None = None) -> None:
        self._lines = dict(lines or {})
        self._stages: list[list[tuple[KeyPath, KeyPath]]] = []
        self.pruned: set[str] = set()
        """Ids and model names of entries dropped for being invalid: references to them are
        not reported again as unknown."""
        self._errors: list[tuple[KeyPath, str]] = []
        self._warnings: list[tuple[KeyPath, str]] = []
        self._quiet: set[KeyPath] = set()

    def error(self, path: KeyPath, message: str) -> None:
        """Record a problem that makes the config invalid."""
        # Translate now: renames registered later describe later transformations.
        path = self.original(path)
        if path not in self._quiet:
            self._errors.append((path, message))

    def warn(self, path: KeyPath, message: str) -> None:
        """Record something that loads but deserves a look."""
        self._warnings.append((self.original(path), message))

    def quiet(self, path: KeyPath) -> None:
        """Ignore further errors at ``path``: it already has a better one (a missing $VAR)."""
        self._quiet.add(path)

    def rename(self, new: KeyPath, old: KeyPath) -> None:
        """Report problems under ``new`` (normalised data) at ``old`` (the key path before).

        Register renames in the order the data was transformed; each one is a step that
        :meth:`original` undoes, newest first.
        """
        self._stages.append([(new, old)])

    def rename_many(self, pairs: Iterable[tuple[KeyPath, KeyPath]]) -> None:
        """Several renames made by one step (e.g. list items shifted after a removal)."""
        stage = [(new, old) for new, old in pairs if new != old]
        if stage:
            self._stages.append(stage)

    @property
    def has_errors(self) -> bool:
        return bool(self._errors)

    def original(self, path: KeyPath) -> KeyPath:
        """``path`` in the normalised data, translated back to the key path in the file."""
        for stage in reversed(self._stages):
            best: tuple[KeyPath, KeyPath] | None = None
            for new, old in stage:
                if path[: len(new)] == new and (best is None or len(new) > len(best[0])):
                    best = (new, old)
            if best is not None:
                path = best[1] + path[len(best[0]) :]
        return path

    def errors(self) -> list[ConfigIssue]:
        """The errors, in file order (those without a line keep their order, at the end)."""
        issues = [self._locate(path, message) for path, message in self._errors]
        unique = list(dict.fromkeys(issues))
        return sorted(unique, key=lambda issue: issue.line if issue.line is not None else 1 << 30)

    def warnings(self) -> tuple[ConfigIssue, ...]:
        """The warnings, in file order."""
        issues = [self._locate(path, message) for path, message in self._warnings]
        unique = list(dict.fromkeys(issues))
        return tuple(sorted(unique, key=lambda i: i.line if i.line is not None else 1 << 30))

    def _locate(self, path: KeyPath, message: str) -> ConfigIssue:
        # The nearest enclosing key that exists in the file gives the line; a key that is
        # missing is reported on its parent's line, except at the top level.
        probe = path
        while probe and probe not in self._lines:
            probe = probe[:-1]
        line = self._lines.get(probe) if probe else None
        return ConfigIssue(format_path(path), message, line)
