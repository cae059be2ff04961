"""The entry point of the pattern analyzer: request in, response out."""

from __future__ import annotations

from datetime import UTC, datetime

from reference.patterns.alignment import NANOS_PER_SECOND, align_series
from reference.patterns.models import AnalysisSummary, PatternRequest, PatternResponse


def _instant(nanos: int) -> datetime:
    """A UTC datetime from nanoseconds since the epoch (microsecond precision)."""
    return datetime.fromtimestamp(nanos / NANOS_PER_SECOND, tz=UTC)


def analyze(request: PatternRequest) -> PatternResponse:
    """Find anomalies, patterns and recommendations in the request's series.

    Deterministic, no I/O, no global state.

    Args:
        request: validated series and their time axis.
    """
    timestamps = request.timestamps_ns()
    aligned = align_series(timestamps, request.series)
    summary = AnalysisSummary(
        points=sum(len(values) for values in request.series.values()),
        metrics=list(request.series),
        start=_instant(int(timestamps.min())),
        end=_instant(int(timestamps.max())),
        span_seconds=(int(timestamps.max()) - int(timestamps.min())) / NANOS_PER_SECOND,
        resolution_seconds=aligned.step_ns / NANOS_PER_SECOND,
        aligned_points=aligned.length,
        missing_steps=aligned.missing_steps,
        duplicate_timestamps=aligned.duplicate_timestamps,
        sensitivity=request.sensitivity,
    )
    return PatternResponse(anomalies=[], patterns=[], recommendations=[], summary=summary)
