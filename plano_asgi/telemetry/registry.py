"""A small metrics registry that renders the Prometheus text exposition format (0.0.4).

Why not ``prometheus-client``: we need counters, gauges and fixed-bucket histograms with
labels, rendered on one listener route, and nothing else (no multiprocess mode, no
process collectors, no push gateway). About 150 lines here avoid a dependency and a
process-global default registry that tests would have to reset.

Each metric guards its samples with a lock, so threads (e.g. a sync exporter) and the
event loop can share it. The number of label combinations per metric is capped
(``max_series``); past the cap new combinations are counted under ``other`` label values,
so a client sending random model names cannot grow memory without bound.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections.abc import Mapping, Sequence

__all__ = ["Counter", "Gauge", "Histogram", "Registry"]

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OVERFLOW = "other"


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help: str, labels: Sequence[str], max_series: int) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labels:
            if not _LABEL.fullmatch(label) or label.startswith("__") or label == "le":
                raise ValueError(f"invalid label name {label!r} on {name}")
        self.name = name
        self.help = help
        self.labels = tuple(labels)
        self._max_series = max_series
        self._lock = threading.Lock()

    def _key(
        self, labels: dict[str, str], known: Mapping[tuple[str, ...], object]
    ) -> tuple[str, ...]:
        try:
            key = tuple([labels[name] for name in self.labels])
        except KeyError:
            key = ()
        if len(key) != len(labels) or len(key) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {tuple(labels)}")
        if key not in known and len(known) >= self._max_series:
            return tuple(_OVERFLOW for _ in self.labels)
        return key

    def _label_text(self, key: tuple[str, ...], extra: str = "") -> str:
        parts = [f'{n}="{_escape_label(v)}"' for n, v in zip(self.labels, key, strict=True)]
        if extra:
            parts.append(extra)
        return "{" + ",".join(parts) + "}" if parts else ""

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]
        lines.extend(self._samples())
        return lines

    def _samples(self) -> list[str]:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


class Counter(_Metric):
    """A monotonically increasing count (name it ``*_total``)."""

    kind = "counter"

    def __init__(
        self, name: str, help: str, labels: Sequence[str] = (), *, max_series: int = 1000
    ) -> None:
        super().__init__(name, help, labels, max_series)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1.0, /, **labels: str) -> None:
        """Add ``amount`` (>= 0) to the series named by ``labels``."""
        if amount < 0:
            raise ValueError("a counter only goes up")
        with self._lock:
            key = self._key(labels, self._values)
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        """The current value of one series (0 when never incremented)."""
        with self._lock:
            return self._values.get(tuple(labels[n] for n in self.labels), 0.0)

    def _samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{self._label_text(k)} {_fmt(v)}" for k, v in items]


class Gauge(Counter):
    """A value that goes up and down (in-flight requests, build info)."""

    kind = "gauge"

    def inc(self, amount: float = 1.0, /, **labels: str) -> None:
        """Add ``amount`` (may be negative)."""
        with self._lock:
            key = self._key(labels, self._values)
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, /, **labels: str) -> None:
        """Subtract ``amount``."""
        self.inc(-amount, **labels)

    def set(self, value: float, /, **labels: str) -> None:
        """Set the series to ``value``."""
        with self._lock:
            self._values[self._key(labels, self._values)] = value


class Histogram(_Metric):
    """Observations counted into fixed buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labels: Sequence[str] = (),
        *,
        buckets: Sequence[float],
        max_series: int = 1000,
    ) -> None:
        super().__init__(name, help, labels, max_series)
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError(f"{name}: buckets must be distinct finite numbers")
        self.buckets = (*bounds, math.inf)
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}

    def observe(self, value: float, /, **labels: str) -> None:
        """Record one observation (seconds, tokens, ...)."""
        with self._lock:
            key = self._key(labels, self._series)
            counts, total = self._series.setdefault(key, ([0] * len(self.buckets), [0.0]))
            counts[bisect.bisect_left(self.buckets, value)] += 1
            total[0] += value

    def count(self, **labels: str) -> int:
        """How many observations a series has."""
        with self._lock:
            series = self._series.get(tuple(labels[n] for n in self.labels))
            return sum(series[0]) if series else 0

    def _samples(self) -> list[str]:
        with self._lock:
            items = sorted((k, (list(c), s[0])) for k, (c, s) in self._series.items())
        lines: list[str] = []
        for key, (counts, total) in items:
            cumulative = 0
            for bound, count in zip(self.buckets, counts, strict=True):
                cumulative += count
                le = f'le="{_fmt(bound)}"'
                lines.append(f"{self.name}_bucket{self._label_text(key, le)} {cumulative}")
            lines.append(f"{self.name}_sum{self._label_text(key)} {_fmt(total)}")
            lines.append(f"{self.name}_count{self._label_text(key)} {cumulative}")
        return lines


class Registry:
    """The metrics one process exposes, rendered in registration order."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def register(self, metric: _Metric) -> None:
        """Add ``metric``; its name must be new."""
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric

    def counter(self, name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        """Create and register a :class:`Counter`."""
        metric = Counter(name, help, labels)
        self.register(metric)
        return metric

    def gauge(self, name: str, help: str, labels: Sequence[str] = ()) -> Gauge:
        """Create and register a :class:`Gauge`."""
        metric = Gauge(name, help, labels)
        self.register(metric)
        return metric

    def histogram(
        self, name: str, help: str, labels: Sequence[str] = (), *, buckets: Sequence[float]
    ) -> Histogram:
        """Create and register a :class:`Histogram` with fixed ``buckets``."""
        metric = Histogram(name, help, labels, buckets=buckets)
        self.register(metric)
        return metric

    def render(self) -> str:
        """All metrics in the Prometheus text format, newline-terminated."""
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"
