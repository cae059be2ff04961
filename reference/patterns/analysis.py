"""The entry point of the pattern analyzer: request in, response out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from reference.patterns.alignment import NANOS_PER_SECOND, AlignedSeries, align_series
from reference.patterns.models import (
    WEEKDAYS,
    AnalysisSummary,
    Anomaly,
    ChangePointPattern,
    DailySeasonalityPattern,
    Pattern,
    PatternRequest,
    PatternResponse,
    Recommendation,
    TrendPattern,
    WeeklySeasonalityPattern,
)
from reference.patterns.recommendations import recommend
from reference.patterns.seasonality import SECONDS_PER_DAY, peak_days, peak_hours
from reference.patterns.series_analysis import SeriesFindings, analyse_series


def _finite(value: float) -> float:
    """A float safe for JSON: NaN becomes 0 and overflow is clipped to +/-1e300."""
    return float(np.clip(np.nan_to_num(value, nan=0.0), -1e300, 1e300))


def _instant(nanos: int) -> datetime:
    """A UTC datetime from nanoseconds since the epoch (microsecond precision)."""
    seconds, remainder = divmod(int(nanos), NANOS_PER_SECOND)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.replace(microsecond=remainder // 1000)


def _patterns(
    findings: SeriesFindings, aligned: AlignedSeries, slot_instant: Callable[[int], datetime]
) -> list[Pattern]:
    """Typed patterns of one series from its findings."""
    patterns: list[Pattern] = []
    daily, weekly = findings.structure.daily, findings.structure.weekly
    if daily is not None:
        peak, near, trough = peak_hours(daily.profile, daily.slot_seconds)
        patterns.append(
            DailySeasonalityPattern(
                metric=findings.name,
                strength=round(daily.strength, 4),
                autocorrelation=round(float(np.clip(daily.autocorrelation, -1, 1)), 4),
                peak_hour=peak,
                peak_hours=near,
                trough_hour=trough,
            )
        )
    if weekly is not None:
        high, low = peak_days(weekly.profile, weekly.slot_seconds)
        patterns.append(
            WeeklySeasonalityPattern(
                metric=findings.name,
                strength=round(weekly.strength, 4),
                autocorrelation=round(float(np.clip(weekly.autocorrelation, -1, 1)), 4),
                peak_days=[WEEKDAYS[day] for day in high],
                trough_days=[WEEKDAYS[day] for day in low],
            )
        )
    if findings.trend is not None and findings.trend_significant:
        coarse_step_seconds = aligned.step_ns * findings.coarse_factor / NANOS_PER_SECOND
        slope = findings.trend.slope * findings.spread * SECONDS_PER_DAY / coarse_step_seconds
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            relative = slope / abs(findings.center) if findings.center else 0.0
        patterns.append(
            TrendPattern(
                metric=findings.name,
                direction="increasing" if slope > 0 else "decreasing",
                slope_per_day=_finite(slope),
                relative_slope_per_day=_finite(relative),
                p_value=min(1.0, max(0.0, findings.trend.p_value)),
            )
        )
    for fine_index, shift, magnitude in findings.shifts:
        patterns.append(
            ChangePointPattern(
                metric=findings.name,
                at=slot_instant(fine_index),
                level_before=_finite(findings.to_units(shift.before)),
                level_after=_finite(findings.to_units(shift.after)),
                magnitude=_finite(magnitude),
                holds_seconds=findings.shift_holds.get(fine_index),
            )
        )
    return patterns


def _daily_levels(findings: SeriesFindings) -> tuple[float, float] | None:
    """Peak and trough of the daily cycle in the metric's units, around its median."""
    daily = findings.structure.daily
    if daily is None:
        return None
    return findings.to_units(float(daily.profile.max())), findings.to_units(
        float(daily.profile.min())
    )


DEMAND_MARGIN = timedelta(minutes=30)
"""How far apart a metric's anomaly and a change in demand may be and still be one event."""


def _explained_by(anomaly: Anomaly, demand: list[Anomaly]) -> bool:
    """Whether a change in demand (requests, users) at the same time explains the anomaly.

    CPU, memory, queues and latency follow the load: when the traffic surges or
    falls away (a holiday), they move with it. Reported alone, such a move
    would send someone to investigate a resource that only did its job; the
    demand metric's own anomaly already tells the story.
    """
    return any(
        anomaly.start <= change.end + DEMAND_MARGIN and change.start - DEMAND_MARGIN <= anomaly.end
        for change in demand
    )


def analyze(request: PatternRequest) -> PatternResponse:
    """Find anomalies, patterns and recommendations in the request's series.

    Deterministic, no I/O, no global state.

    Args:
        request: validated series and their time axis.
    """
    timestamps = request.timestamps_ns()
    aligned = align_series(timestamps, request.series)
    first_ns, last_ns = int(timestamps.min()), int(timestamps.max())
    data_end = _instant(last_ns)

    def slot_instant(index: int) -> datetime:
        # Snapping to the grid can move the last slot past the last sample.
        return _instant(min(max(aligned.start_ns + index * aligned.step_ns, first_ns), last_ns))

    anomalies: list[Anomaly] = []
    patterns: list[Pattern] = []
    recommendations: list[Recommendation] = []
    notes: list[str] = []
    analysed: list[tuple[str, SeriesFindings, list[Anomaly], list[Pattern]]] = []
    for name, values in aligned.values.items():
        findings = analyse_series(
            name, values, aligned.start_ns, aligned.step_ns, request.sensitivity
        )
        notes.extend(findings.notes)
        series_anomalies = [
            Anomaly(
                metric=name,
                start=slot_instant(found.start),
                end=slot_instant(found.end),
                kind=found.kind,
                score=round(_finite(found.score), 3),
            )
            for found in findings.anomalies
        ]
        analysed.append(
            (name, findings, series_anomalies, _patterns(findings, aligned, slot_instant))
        )
    demand = [
        anomaly
        for _, findings, series_anomalies, _ in analysed
        if findings.role.is_load
        for anomaly in series_anomalies
    ]
    for name, findings, series_anomalies, series_patterns in analysed:
        if not findings.role.is_load:
            series_anomalies = [a for a in series_anomalies if not _explained_by(a, demand)]
        anomalies.extend(series_anomalies)
        patterns.extend(series_patterns)
        recommendations.extend(
            recommend(
                name,
                findings.role,
                series_anomalies,
                series_patterns,
                data_end,
                _daily_levels(findings),
                findings.center,
            )
        )
    anomalies.sort(key=lambda anomaly: (anomaly.start, anomaly.metric))
    summary = AnalysisSummary(
        points=sum(len(values) for values in request.series.values()),
        metrics=list(request.series),
        start=_instant(int(timestamps.min())),
        end=data_end,
        span_seconds=(int(timestamps.max()) - int(timestamps.min())) / NANOS_PER_SECOND,
        resolution_seconds=aligned.step_ns / NANOS_PER_SECOND,
        aligned_points=aligned.length,
        missing_steps=aligned.missing_steps,
        duplicate_timestamps=aligned.duplicate_timestamps,
        sensitivity=request.sensitivity,
        notes=notes,
    )
    return PatternResponse(
        anomalies=anomalies, patterns=patterns, recommendations=recommendations, summary=summary
    )
