"""When each arrival of the open model is due: a constant or piecewise-linear arrival rate.

The rate is a piecewise-linear function r(t); the number of arrivals due by time t is its
integral N(t), and arrival k (from 0) is due at the time N(t) = k, so arrival 0 is due at the
start. Inverting N is exact per segment (a quadratic), so a ramp from 10 to 100 per second
over 60 s sends exactly 3300 arrivals, spaced as the rate says, with no drift from summing
intervals.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from vigil.load.config import LoadProfileConfig


@dataclass(frozen=True, slots=True)
class _Segment:
    start_seconds: float
    seconds: float
    start_rate: float
    end_rate: float
    arrivals_before: float

    @property
    def arrivals(self) -> float:
        return (self.start_rate + self.end_rate) / 2 * self.seconds


class ArrivalSchedule:
    """Due times of the open model's arrivals over a run.

    Args:
        segments: ``(seconds, start_rate, end_rate)`` in order; the rate ramps linearly within
            each segment.
    """

    def __init__(self, segments: list[tuple[float, float, float]]) -> None:
        self._segments: list[_Segment] = []
        start = 0.0
        before = 0.0
        for seconds, start_rate, end_rate in segments:
            segment = _Segment(start, seconds, start_rate, end_rate, before)
            self._segments.append(segment)
            start += seconds
            before += segment.arrivals
        self._cumulative = [s.arrivals_before for s in self._segments]
        self.total_arrivals = math.ceil(before - 1e-9)
        """Arrivals due within the schedule: arrival k is due when k arrivals are behind."""

    @classmethod
    def of(cls, profile: LoadProfileConfig) -> ArrivalSchedule:
        """The schedule of an open-model profile (constant ``arrival_rate`` or its stages)."""
        duration = profile.duration_seconds
        if profile.arrival_stages is None:
            rate = profile.arrival_rate or 0.0
            return cls([(duration, rate, rate)])
        segments: list[tuple[float, float, float]] = []
        rate = profile.arrival_rate or 0.0
        elapsed = 0.0
        for stage in profile.arrival_stages:
            segments.append((stage.duration_seconds, rate, stage.target_rate))
            rate = stage.target_rate
            elapsed += stage.duration_seconds
        if duration - elapsed > 1e-9:
            segments.append((duration - elapsed, rate, rate))
        return cls(segments)

    def rate_at(self, seconds: float) -> float:
        """The scheduled arrival rate `seconds` after the start (0 after the schedule)."""
        for segment in self._segments:
            if seconds < segment.start_seconds + segment.seconds:
                fraction = max(seconds - segment.start_seconds, 0.0) / segment.seconds
                return segment.start_rate + (segment.end_rate - segment.start_rate) * fraction
        return 0.0

    def due_seconds(self, arrival: int) -> float | None:
        """When arrival number `arrival` (from 0) is due, or None when it is beyond the end."""
        if arrival < 0:
            raise ValueError(f"arrival must be at least 0, got {arrival}")
        if arrival >= self.total_arrivals:
            return None
        # The last segment starting at or before the arrival: segments holding no arrivals
        # share their start count with the next one, so they are never picked here.
        segment = self._segments[bisect.bisect_right(self._cumulative, arrival) - 1]
        wanted = arrival - segment.arrivals_before
        if wanted <= 0:
            return segment.start_seconds
        slope = (segment.end_rate - segment.start_rate) / segment.seconds
        root = math.sqrt(max(segment.start_rate**2 + 2 * slope * wanted, 0.0))
        # 2m / (r0 + sqrt(r0^2 + 2am)) is the quadratic's root without cancellation for any slope.
        offset = 2 * wanted / (segment.start_rate + root)
        return segment.start_seconds + min(offset, segment.seconds)
