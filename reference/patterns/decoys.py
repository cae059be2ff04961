"""Answers of a broken analyzer, for the ``--patterns-mode`` switch: nothing, or noise.

``none`` finds nothing and recommends nothing; ``random`` reports windows,
cycles and recommendations drawn at random (seeded by the request, so the same
request gets the same answer). Both answer with the same shapes as the real
analysis, so a client cannot tell them apart by format -- only by being
right. They exist so that a validator can show it fails a target whose
pattern analysis is worthless.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np

from reference.patterns.models import (
    WEEKDAYS,
    AnalysisSummary,
    Anomaly,
    DailySeasonalityPattern,
    IntervalWindow,
    Pattern,
    PatternRequest,
    PatternResponse,
    Recommendation,
    RecurringWindow,
    WeeklySeasonalityPattern,
)

RANDOM_ANOMALIES_PER_SERIES = (2, 12)
"""Fewest and most random anomaly windows per series (inclusive, exclusive)."""
RANDOM_RECOMMENDATIONS_PER_SERIES = (1, 5)
ANOMALY_KINDS = ("spike", "dip", "level_shift", "gradual_degradation", "intermittent")
ACTIONS = (
    "scale_up",
    "scale_down",
    "investigate",
    "rollback_deploy",
    "add_capacity_alerting",
    "add_anomaly_alerting",
)


def _summary(request: PatternRequest, note: str) -> AnalysisSummary:
    """What was received, without analysing it."""
    timestamps = np.sort(request.timestamps_ns())
    gaps = np.diff(np.unique(timestamps))
    first, last = int(timestamps[0]), int(timestamps[-1])
    return AnalysisSummary(
        points=sum(len(values) for values in request.series.values()),
        metrics=list(request.series),
        start=_instant(first),
        end=_instant(last),
        span_seconds=(last - first) / 1e9,
        resolution_seconds=float(np.median(gaps)) / 1e9 if len(gaps) else 0.0,
        aligned_points=len(timestamps),
        missing_steps=0,
        duplicate_timestamps=len(timestamps) - len(np.unique(timestamps)),
        sensitivity=request.sensitivity,
        notes=[note],
    )


def _instant(nanos: int) -> datetime:
    return datetime.fromtimestamp(nanos // 1_000_000_000, tz=UTC)


def nothing_found(request: PatternRequest) -> PatternResponse:
    """The answer of ``--patterns-mode none``: no anomalies, patterns or recommendations.

    Args:
        request: The validated request.
    """
    return PatternResponse(
        anomalies=[],
        patterns=[],
        recommendations=[],
        summary=_summary(request, "patterns_mode=none: analysis disabled, nothing reported"),
    )


def _seed(request: PatternRequest) -> int:
    """A seed fixed by the request's metric names and lengths."""
    shape = ",".join(f"{name}:{len(values)}" for name, values in request.series.items())
    return int.from_bytes(hashlib.sha256(shape.encode()).digest()[:8], "big")


def random_findings(request: PatternRequest) -> PatternResponse:
    """The answer of ``--patterns-mode random``: plausible shapes, random content.

    Args:
        request: The validated request.
    """
    rng = np.random.default_rng(_seed(request))
    summary = _summary(request, "patterns_mode=random: findings drawn at random")
    start, span = summary.start, max(summary.span_seconds, 1.0)

    def moment(fraction: float) -> datetime:
        return start + timedelta(seconds=fraction * span)

    anomalies: list[Anomaly] = []
    patterns: list[Pattern] = []
    recommendations: list[Recommendation] = []
    for name in request.series:
        for _ in range(int(rng.integers(*RANDOM_ANOMALIES_PER_SERIES))):
            first = float(rng.uniform(0.0, 0.98))
            length = float(rng.uniform(0.0005, 0.02))
            anomalies.append(
                Anomaly(
                    metric=name,
                    start=moment(first),
                    end=moment(min(1.0, first + length)),
                    kind=str(rng.choice(ANOMALY_KINDS)),
                    score=round(float(rng.uniform(3.0, 30.0)), 3),
                )
            )
        if rng.random() < 0.5:
            peak = int(rng.integers(0, 24))
            patterns.append(
                DailySeasonalityPattern(
                    metric=name,
                    strength=round(float(rng.uniform(0.1, 0.9)), 4),
                    autocorrelation=round(float(rng.uniform(0.1, 0.9)), 4),
                    peak_hour=peak,
                    peak_hours=sorted({peak, (peak + 1) % 24}),
                    trough_hour=int(rng.integers(0, 24)),
                )
            )
        if rng.random() < 0.5:
            order = [WEEKDAYS[i] for i in rng.permutation(7)]
            cut = int(rng.integers(1, 7))
            patterns.append(
                WeeklySeasonalityPattern(
                    metric=name,
                    strength=round(float(rng.uniform(0.1, 0.9)), 4),
                    autocorrelation=round(float(rng.uniform(0.1, 0.9)), 4),
                    peak_days=order[:cut],
                    trough_days=order[cut:],
                )
            )
        for _ in range(int(rng.integers(*RANDOM_RECOMMENDATIONS_PER_SERIES))):
            action = str(rng.choice(ACTIONS))
            if action in ("scale_up", "scale_down"):
                hour = int(rng.integers(0, 24))
                window: IntervalWindow | RecurringWindow = RecurringWindow(
                    hours=[hour, (hour + 1) % 24], days=[]
                )
            else:
                first = float(rng.uniform(0.0, 0.98))
                window = IntervalWindow(start=moment(first), end=moment(first + 0.01))
            recommendations.append(
                Recommendation(
                    action=action,  # type: ignore[arg-type]
                    target=name,
                    window=window,
                    rationale="drawn at random (patterns_mode=random)",
                    expected_effect="none: this recommendation is noise",
                )
            )
    anomalies.sort(key=lambda anomaly: (anomaly.start, anomaly.metric))
    return PatternResponse(
        anomalies=anomalies, patterns=patterns, recommendations=recommendations, summary=summary
    )
