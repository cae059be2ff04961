"""A time series that keeps fine detail for recent time and coarser summaries as points age.

A 72-hour soak cannot keep one point per second (260,000 points per figure). A
:class:`TieredSeries` keeps per-second points for the last hour, per-minute points for the
last day and per-hour points beyond, each point summarising what it replaced (count, sum,
minimum, maximum), and holds a hard cap on the coarsest tier, so its size is bounded whatever
the soak's length: by default at most 3,600 + 1,440 + 2,000 points.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Tier:
    """One resolution of a tiered series: points `resolution_s` wide, kept for `span_s`."""

    resolution_s: float
    span_s: float

    def __post_init__(self) -> None:
        if not (self.resolution_s > 0 and self.span_s >= self.resolution_s):
            raise ValueError(
                f"a tier needs resolution_s > 0 and span_s >= resolution_s, got "
                f"resolution_s={self.resolution_s}, span_s={self.span_s}"
            )


DEFAULT_TIERS = (Tier(1.0, 3600.0), Tier(60.0, 86_400.0), Tier(3600.0, math.inf))
"""Per second for the last hour, per minute for the last day, per hour beyond."""
DEFAULT_MAX_COARSE_POINTS = 2000
"""Points the coarsest tier keeps at most (about 83 days of hours)."""


@dataclass(slots=True)
class SeriesPoint:
    """The summary of every value that fell into one slot of time."""

    start: float
    """Start of the slot, in seconds (any epoch, the same for every point)."""
    width: float
    count: int
    total: float
    low: float
    high: float

    @property
    def mean(self) -> float:
        """Mean of the values summarised."""
        return self.total / self.count

    def absorb(self, other: SeriesPoint) -> None:
        """Add another point's values to this one."""
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)

    def as_list(self) -> list[float]:
        """``[start, width, count, total, low, high]``, the compact stored form."""
        return [self.start, self.width, self.count, self.total, self.low, self.high]


class TieredSeries:
    """A bounded series: recent points fine, older points folded into coarser ones.

    Values must arrive in time order (a value older than the newest point's slot is folded
    into that slot, never lost).

    Args:
        tiers: Finest first; each tier's resolution must divide the next one's.
        max_coarse_points: Hard cap on the coarsest tier; the oldest points go first.
    """

    def __init__(
        self,
        tiers: tuple[Tier, ...] = DEFAULT_TIERS,
        max_coarse_points: int = DEFAULT_MAX_COARSE_POINTS,
    ) -> None:
        if not tiers:
            raise ValueError("a tiered series needs at least one tier")
        for finer, coarser in itertools.pairwise(tiers):
            ratio = coarser.resolution_s / finer.resolution_s
            if ratio < 1 or abs(ratio - round(ratio)) > 1e-9:
                raise ValueError(
                    f"tier resolutions must grow by whole multiples, got {finer.resolution_s} "
                    f"then {coarser.resolution_s}"
                )
        if max_coarse_points < 1:
            raise ValueError(f"max_coarse_points must be at least 1, got {max_coarse_points}")
        self.tiers = tiers
        self.max_coarse_points = max_coarse_points
        self._points: list[deque[SeriesPoint]] = [deque() for _ in tiers]
        self.dropped = 0
        """Coarse points dropped by the cap."""

    def __len__(self) -> int:
        return sum(len(points) for points in self._points)

    @property
    def max_points(self) -> int:
        """The most points this series can ever hold."""
        bounded = sum(int(t.span_s / t.resolution_s) + 1 for t in self.tiers[:-1])
        return bounded + self.max_coarse_points

    def add(self, moment: float, value: float) -> None:
        """Record `value` observed at `moment` (seconds)."""
        if not math.isfinite(value):
            raise ValueError(f"series values must be finite, got {value!r} at {moment}")
        finest = self.tiers[0]
        start = math.floor(moment / finest.resolution_s) * finest.resolution_s
        point = SeriesPoint(start, finest.resolution_s, 1, value, value, value)
        self._insert(0, point)
        self._age(moment)

    def _insert(self, level: int, point: SeriesPoint) -> None:
        points = self._points[level]
        resolution = self.tiers[level].resolution_s
        slot = math.floor(point.start / resolution) * resolution
        if points and points[-1].start >= slot:
            points[-1].absorb(point)
            return
        points.append(
            SeriesPoint(slot, resolution, point.count, point.total, point.low, point.high)
        )
        if level == len(self.tiers) - 1:
            while len(points) > self.max_coarse_points:
                points.popleft()
                self.dropped += 1

    def _age(self, now: float) -> None:
        """Move points older than their tier's span into the next coarser tier."""
        for level, tier in enumerate(self.tiers[:-1]):
            points = self._points[level]
            while points and points[0].start + points[0].width <= now - tier.span_s:
                self._insert(level + 1, points.popleft())

    def points(self) -> Iterator[SeriesPoint]:
        """Every point, oldest first (coarse tiers hold the older ones)."""
        for points in reversed(self._points):
            yield from points

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able snapshot, restored by :meth:`from_dict`."""
        return {
            "tiers": [
                [t.resolution_s, None if math.isinf(t.span_s) else t.span_s] for t in self.tiers
            ],
            "max_coarse_points": self.max_coarse_points,
            "dropped": self.dropped,
            "points": [[p.as_list() for p in points] for points in self._points],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TieredSeries:
        """Rebuild a series from :meth:`to_dict`'s snapshot."""
        tiers = tuple(
            Tier(float(res), math.inf if span is None else float(span))
            for res, span in data["tiers"]
        )
        series = cls(tiers, int(data["max_coarse_points"]))
        series.dropped = int(data.get("dropped", 0))
        for level, points in enumerate(data["points"]):
            series._points[level].extend(
                SeriesPoint(p[0], p[1], int(p[2]), p[3], p[4], p[5]) for p in points
            )
        return series


SOAK_SERIES = ("probe_ok", "load_p95_s")
"""The per-second figures a soak keeps over its whole length, tiered."""


def soak_tiers(fine_span_s: float = 3600.0) -> tuple[Tier, ...]:
    """The soak's tiers: per second for `fine_span_s`, per minute for a day, per hour beyond."""
    return (Tier(1.0, fine_span_s), *DEFAULT_TIERS[1:])


class SoakSeries:
    """The soak's tiered series by name, restored from and saved to its checkpoint.

    Args:
        snapshot: A checkpoint's snapshot; its series keep the tiers they were made with.
        tiers: The tiers of series the snapshot does not hold.
    """

    def __init__(
        self, snapshot: dict[str, Any] | None = None, tiers: tuple[Tier, ...] = DEFAULT_TIERS
    ) -> None:
        snapshot = snapshot or {}
        self.series = {
            name: (
                TieredSeries.from_dict(snapshot[name]) if name in snapshot else TieredSeries(tiers)
            )
            for name in SOAK_SERIES
        }

    def extend(self, per_second: dict[str, list[tuple[float, float]]]) -> None:
        """Add a cycle's (epoch seconds, value) points, in time order."""
        for name, points in per_second.items():
            series = self.series.get(name)
            if series is None:
                continue
            for moment, value in sorted(points):
                series.add(moment, value)

    def snapshot(self) -> dict[str, Any]:
        """The JSON-able form stored with each checkpoint."""
        return {name: series.to_dict() for name, series in self.series.items()}
