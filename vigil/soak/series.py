"""A time series that keeps fine detail for recent time and coarser summaries as points age.

A 72-hour soak cannot keep one point per second (260,000 points per figure). A
:class:`TieredSeries` keeps per-second points for the last hour, per-minute points for the
last day and per-hour points beyond, each point summarising what it replaced (count, sum,
minimum, maximum), and holds a hard cap on the coarsest tier, so its size is bounded whatever
the soak's length: by default at most 3,601 + 1,441 + 2,000 points.

Each tier lives in a ring buffer of doubles allocated once, at its full size, when the series
is made: adding a point allocates nothing. Per-point Python objects that live for an hour
would be scattered over the interpreter's small-object arenas among the cycles' short-lived
objects and keep those arenas from ever being returned; a fixed block cannot do that.
"""

from __future__ import annotations

import itertools
import math
from array import array
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

    def as_list(self) -> list[float]:
        """``[start, width, count, total, low, high]``, the compact stored form."""
        return [self.start, self.width, self.count, self.total, self.low, self.high]


_FIELDS = 6
"""Doubles per stored point: start, width, count, total, low, high."""


class _Ring:
    """A fixed-capacity FIFO of points, stored as doubles in one preallocated array."""

    __slots__ = ("_data", "_head", "capacity", "size")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data = array("d", bytes(8 * _FIELDS * capacity))
        self._head = 0
        self.size = 0

    def _offset(self, index: int) -> int:
        return ((self._head + index) % self.capacity) * _FIELDS

    def append(self, point: SeriesPoint) -> None:
        """Add `point` as the newest; the caller makes room first (see :attr:`full`)."""
        at = self._offset(self.size)
        self._data[at : at + _FIELDS] = array("d", point.as_list())
        self.size += 1

    @property
    def full(self) -> bool:
        """No room for another point."""
        return self.size == self.capacity

    def get(self, index: int) -> SeriesPoint:
        """The point `index` places from the oldest (-1: the newest)."""
        at = self._offset(index % self.size)
        start, width, count, total, low, high = self._data[at : at + _FIELDS]
        return SeriesPoint(start, width, int(count), total, low, high)

    def absorb_into_newest(self, point: SeriesPoint) -> None:
        """Fold `point`'s values into the newest point."""
        at = self._offset(self.size - 1)
        data = self._data
        data[at + 2] += point.count
        data[at + 3] += point.total
        data[at + 4] = min(data[at + 4], point.low)
        data[at + 5] = max(data[at + 5], point.high)

    def oldest_end(self) -> float:
        """Where the oldest point's slot ends."""
        at = self._offset(0)
        return self._data[at] + self._data[at + 1]

    def newest_start(self) -> float:
        """Where the newest point's slot starts."""
        return self._data[self._offset(self.size - 1)]

    def pop_oldest(self) -> SeriesPoint:
        """Remove and return the oldest point."""
        point = self.get(0)
        self._head = (self._head + 1) % self.capacity
        self.size -= 1
        return point

    def __iter__(self) -> Iterator[SeriesPoint]:
        for index in range(self.size):
            yield self.get(index)


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
        # A tier spanning S at resolution r holds at most S / r + 1 points (see _age).
        self._points = [_Ring(int(t.span_s / t.resolution_s) + 1) for t in tiers[:-1]]
        self._points.append(_Ring(max_coarse_points))
        self.dropped = 0
        """Coarse points dropped by the cap."""

    def __len__(self) -> int:
        return sum(ring.size for ring in self._points)

    @property
    def max_points(self) -> int:
        """The most points this series can ever hold (all of them allocated up front)."""
        return sum(ring.capacity for ring in self._points)

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
        ring = self._points[level]
        resolution = self.tiers[level].resolution_s
        slot = math.floor(point.start / resolution) * resolution
        if ring.size and ring.newest_start() >= slot:
            ring.absorb_into_newest(point)
            return
        if ring.full:
            # The coarsest tier drops its oldest point; a finer one (only reachable through
            # rounding at its span's edge) folds it into the next tier, losing nothing.
            oldest = ring.pop_oldest()
            if level == len(self.tiers) - 1:
                self.dropped += 1
            else:
                self._insert(level + 1, oldest)
        ring.append(SeriesPoint(slot, resolution, point.count, point.total, point.low, point.high))

    def _age(self, now: float) -> None:
        """Move points older than their tier's span into the next coarser tier."""
        for level, tier in enumerate(self.tiers[:-1]):
            ring = self._points[level]
            while ring.size and ring.oldest_end() <= now - tier.span_s:
                self._insert(level + 1, ring.pop_oldest())

    def points(self) -> Iterator[SeriesPoint]:
        """Every point, oldest first (coarse tiers hold the older ones)."""
        for ring in reversed(self._points):
            yield from ring

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
            ring = series._points[level]
            for p in points[-ring.capacity :]:
                ring.append(SeriesPoint(p[0], p[1], int(p[2]), p[3], p[4], p[5]))
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
