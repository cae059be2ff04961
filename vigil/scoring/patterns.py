"""How right a target's pattern analysis is, against the truth of vigil's synthetic history.

The definition below was fixed before the reference analyzer was tuned against
it, and is kept fixed while the analyzer changes (``benchmarks/patterns/RESULTS.md``
repeats it). Three parts, each a number in [0, 1]:

**Detection** (``pattern_f1``, with ``pattern_precision`` and ``pattern_recall``).
The generator's labelled windows fall in two groups:

* *anomalies*, which a detector is expected to report: ``spike`` (expected as
  a reported ``spike`` or ``dip``), ``level_shift`` (``level_shift``),
  ``gradual_degradation`` (``gradual_degradation``), ``intermittent``
  (``intermittent``) and ``bad_deploy`` (any anomaly kind, on each metric it
  degrades);
* *events*, which really move the metrics but are not faults: ``deploy``,
  ``config_change``, ``traffic_surge``, ``holiday``. A detector may report them
  or not: a report that overlaps only an event window of its metric is
  *neutral*, neither true nor false.

Recall is the share of anomaly windows overlapped by a report on the same
metric, whatever the reported kind. Every labelled window is widened by
``time_tolerance_minutes`` on both sides first: the change back at a window's end
is reported at the first instant after it, and belongs to it. Precision is the share of non-neutral
reports that overlap an anomaly window of their metric. Everything else a
detector reports (the steady memory leak, ordinary weekend steps, noise) is a
false positive. F1 is their harmonic mean (0 when nothing is reported). The
reported kind is scored separately, per truth kind, as information.

**Seasonality** (``seasonality_accuracy``). The generator's :class:`CycleTruth`
says which metrics carry the traffic's daily and weekly cycles and which carry
none. Each (metric, period) the truth covers is one judgement: a present daily
cycle is right when a daily cycle is reported for the metric with its peak hour
within ``peak_hour_tolerance_hours`` of the true one; a present weekly cycle is
right when a weekly cycle is reported whose peak days are all true high days and
whose trough days are all true low days (neither empty); an absent cycle is
right when none is reported.

**Recommendations** (``recommendation_precision``): the share of the target's
recommendations that the truth supports. ``scale_up`` is right when it concerns
a metric driven by traffic, its hours reach the true daily peak (within the
tolerance) and its days, when given, include a true weekly peak day;
``scale_down`` when it concerns a traffic-driven metric and its hours are all
at the true daily trough; ``add_capacity_alerting`` when the metric truly grows
over the span (traffic-driven metrics when traffic grows; memory, which leaks);
``investigate`` when its window overlaps (an open-ended one: starts within) an
anomaly window of its metric; ``rollback_deploy`` when it starts within a true
bad deploy of its metric; ``add_anomaly_alerting`` when its window overlaps a
true spike or intermittent window of its metric (a lenient rule: the claim is
"spikes recur here"). Any other action is not supported by the truth. Times may
be off by ``time_tolerance_minutes``. No recommendation at all scores 0.

**pattern_accuracy** is the weighted mean of the three, weights from
:class:`PatternsPartConfig` (by default detection 0.4, seasonality 0.2,
recommendations 0.4: detections and recommendations weigh the same, the
seasonality is a smaller part of what is detected).

**Pattern -> optimization** (optional, :class:`OptimizationConfig`): the target's
first recommendation that a rule maps (its own order: its top one) becomes an
``/admin/config`` change; short load rounds before and after it measure the
rule's measure, and the promised effect counts as measured only when the median
improved by the rule's share (:func:`judge_optimization`). The change is undone
afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vigil.results import CheckResult, Severity, Status
from vigil.scoring.patterns_settings import ConfigKey as ConfigKey  # re-exported
from vigil.scoring.patterns_settings import OptimizationConfig as OptimizationConfig
from vigil.scoring.patterns_settings import OptimizationRule as OptimizationRule
from vigil.scoring.patterns_settings import PatternsPartConfig as PatternsPartConfig
from vigil.scoring.windows import EMPTY_SCORE, Interval, WindowScore, overlaps, score_windows
from vigil.synth.config import ANOMALY_KINDS, EVENT_KINDS
from vigil.synth.metrics import CYCLE_METRICS, CycleTruth, LabelledWindow

REPORTED_ANOMALY_KINDS = ("spike", "dip", "level_shift", "gradual_degradation", "intermittent")
EXPECTED_REPORTS: dict[str, tuple[str, ...]] = {
    "spike": ("spike", "dip"),
    "level_shift": ("level_shift",),
    "gradual_degradation": ("gradual_degradation",),
    "intermittent": ("intermittent",),
    "bad_deploy": REPORTED_ANOMALY_KINDS,
}
"""Truth kind of an anomaly -> the reported kinds that describe it."""
NEUTRAL_KINDS: tuple[str, ...] = EVENT_KINDS
"""Truth kinds a detector may report or not (real but benign movements of the metrics)."""
TRAFFIC_DRIVEN_METRICS: frozenset[str] = frozenset(
    {*CYCLE_METRICS, "memory_bytes", "latency_p50_ms", "latency_p95_ms"}
)
"""Metrics whose level follows the traffic curve (their peaks are the traffic's peaks)."""
LEAKING_METRICS: frozenset[str] = frozenset({"memory_bytes"})
"""Metrics the generator makes grow regardless of traffic (memory leaks between deploys)."""
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

assert set(EXPECTED_REPORTS) == set(ANOMALY_KINDS), "every anomaly kind needs its expectation"


# -- what the target answered (read tolerantly: a user's system may add fields) ----------------


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class ReportedAnomaly(_Answer):
    """An anomaly window the target reported."""

    metric: str
    start: datetime
    end: datetime
    kind: str


class ReportedPattern(_Answer):
    """A pattern the target reported (only the fields scored here are read)."""

    kind: str
    metric: str
    peak_hour: int | None = None
    trough_hour: int | None = None
    peak_days: list[str] = Field(default_factory=list)
    trough_days: list[str] = Field(default_factory=list)


class ReportedWindow(_Answer):
    """When a recommendation says to act: an interval or a recurring window."""

    kind: str
    start: datetime | None = None
    end: datetime | None = None
    hours: list[int] = Field(default_factory=list)
    days: list[str] = Field(default_factory=list)


class ReportedRecommendation(_Answer):
    """A recommendation the target made."""

    action: str
    target: str
    window: ReportedWindow


class PatternAnswer(_Answer):
    """The body of `POST /patterns/analyze`."""

    anomalies: list[ReportedAnomaly] = Field(default_factory=list)
    patterns: list[ReportedPattern] = Field(default_factory=list)
    recommendations: list[ReportedRecommendation] = Field(default_factory=list)


# -- scores ----------------------------------------------------------------------------------


class KindScore(BaseModel):
    """How the anomaly windows of one truth kind were seen."""

    labelled: int
    detected: int
    detected_as_expected: int
    """Detected by a report of a kind that describes the truth kind."""


class WindowJudgement(BaseModel):
    """One labelled or reported window and what scoring made of it (for the report)."""

    side: Literal["truth", "report"]
    metric: str
    kind: str
    start: datetime
    end: datetime
    outcome: Literal["detected", "missed", "event", "true", "false", "neutral"]


class DetectionScore(BaseModel):
    """Detection precision, recall and F1 over all metrics, and per truth kind."""

    labelled: int
    detected: int
    reported: int
    """Reports that are not neutral."""
    true_reports: int
    neutral_reports: int
    per_kind: dict[str, KindScore]
    windows: list[WindowJudgement]

    @property
    def window_score(self) -> WindowScore:
        """The counts as a :class:`WindowScore`."""
        return WindowScore(self.labelled, self.detected, self.reported, self.true_reports)


class Judgement(BaseModel):
    """One seasonality fact or recommendation, judged right or wrong, and why."""

    subject: str
    correct: bool
    reason: str


class PatternScore(BaseModel):
    """Everything `pattern_accuracy` is made of."""

    detection: DetectionScore
    seasonality: list[Judgement]
    recommendations: list[Judgement]
    pattern_precision: float | None
    pattern_recall: float | None
    pattern_f1: float
    seasonality_accuracy: float
    recommendation_precision: float
    pattern_accuracy: float


def _interval(start: datetime, end: datetime) -> Interval:
    return (start.timestamp(), end.timestamp())


def score_detections(
    labels: Iterable[LabelledWindow],
    anomalies: Iterable[ReportedAnomaly],
    tolerance: timedelta = timedelta(0),
) -> DetectionScore:
    """Score reported anomaly windows against the labelled windows, metric by metric.

    Args:
        labels: The generator's labelled windows (anomalies and events).
        anomalies: The target's reported anomalies.
        tolerance: How far outside a labelled window a report may start or end and still be
            about it (the change back at a window's end is reported just after it).
    """
    labels, anomalies = list(labels), list(anomalies)
    total = EMPTY_SCORE
    neutral = 0
    per_kind = {
        kind: KindScore(labelled=0, detected=0, detected_as_expected=0) for kind in ANOMALY_KINDS
    }
    judged: list[WindowJudgement] = []
    for metric in sorted({label.metric for label in labels} | {a.metric for a in anomalies}):
        truths = [label for label in labels if label.metric == metric]
        faults = [label for label in truths if label.kind in EXPECTED_REPORTS]
        events = [label for label in truths if label.kind in NEUTRAL_KINDS]
        reports = [anomaly for anomaly in anomalies if anomaly.metric == metric]
        fault_spans = [
            _interval(label.start - tolerance, label.end + tolerance) for label in faults
        ]
        event_spans = [
            _interval(label.start - tolerance, label.end + tolerance) for label in events
        ]
        counted: list[Interval] = []
        for report in reports:
            span = _interval(report.start, report.end)
            if any(overlaps(span, fault) for fault in fault_spans):
                outcome = "true"
            elif any(overlaps(span, event) for event in event_spans):
                outcome = "neutral"
                neutral += 1
            else:
                outcome = "false"
            if outcome != "neutral":
                counted.append(span)
            judged.append(
                WindowJudgement(
                    side="report", metric=metric, kind=report.kind, start=report.start,
                    end=report.end, outcome=outcome,
                )
            )  # fmt: skip
        total = total + score_windows(fault_spans, counted)
        for label in truths:
            span = _interval(label.start - tolerance, label.end + tolerance)
            hits = [r for r in reports if overlaps(span, _interval(r.start, r.end))]
            if label.kind in EXPECTED_REPORTS:
                kind = per_kind[label.kind]
                per_kind[label.kind] = KindScore(
                    labelled=kind.labelled + 1,
                    detected=kind.detected + bool(hits),
                    detected_as_expected=kind.detected_as_expected
                    + any(r.kind in EXPECTED_REPORTS[label.kind] for r in hits),
                )
                outcome = "detected" if hits else "missed"
            else:
                outcome = "event"
            judged.append(
                WindowJudgement(
                    side="truth", metric=metric, kind=label.kind, start=label.start,
                    end=label.end, outcome=outcome,
                )
            )  # fmt: skip
    return DetectionScore(
        labelled=total.labelled,
        detected=total.detected,
        reported=total.reported,
        true_reports=total.true_reports,
        neutral_reports=neutral,
        per_kind=per_kind,
        windows=judged,
    )


def _hour_distance(a: int, b: int) -> int:
    """Hours between two hours of day, around the clock."""
    return min((a - b) % 24, (b - a) % 24)


def _weekday_numbers(days: Iterable[str]) -> set[int]:
    return {WEEKDAY_NAMES.index(day.lower()) for day in days if day.lower() in WEEKDAY_NAMES}


def score_seasonality(
    cycles: Iterable[CycleTruth], patterns: Iterable[ReportedPattern], tolerance_hours: int
) -> list[Judgement]:
    """Judge each cycle the truth covers against the reported seasonality patterns.

    Args:
        cycles: The generator's cycle truth.
        patterns: The target's reported patterns.
        tolerance_hours: How far a reported peak hour may be from the true one.
    """
    patterns = list(patterns)
    judgements: list[Judgement] = []
    for truth in cycles:
        kind = f"{truth.period}_seasonality"
        reported = next((p for p in patterns if p.kind == kind and p.metric == truth.metric), None)
        subject = f"{truth.period} cycle of {truth.metric}"
        if not truth.present:
            correct = reported is None
            reason = "none built, none reported" if correct else "none built, but one reported"
        elif reported is None:
            correct, reason = False, "built but not reported"
        elif truth.period == "daily":
            assert truth.peak_hour is not None
            if reported.peak_hour is None:
                correct, reason = False, "reported without a peak hour"
            else:
                off = _hour_distance(reported.peak_hour, truth.peak_hour)
                correct = off <= tolerance_hours
                reason = (
                    f"peak reported at {reported.peak_hour:02d}:00 UTC, "
                    f"true peak {truth.peak_hour:02d}:00 UTC"
                )
        else:
            high, low = _weekday_numbers(reported.peak_days), _weekday_numbers(reported.trough_days)
            correct = bool(high) and bool(low)
            correct = correct and high <= set(truth.peak_days) and low <= set(truth.trough_days)
            reason = (
                f"peak days {sorted(high)} and trough days {sorted(low)} reported, true "
                f"{list(truth.peak_days)} and {list(truth.trough_days)} (0 = Monday)"
            )
        judgements.append(Judgement(subject=subject, correct=correct, reason=reason))
    return judgements


def judge_recommendations(
    recommendations: Iterable[ReportedRecommendation],
    labels: Iterable[LabelledWindow],
    cycles: Iterable[CycleTruth],
    growth_per_30_days: float,
    *,
    peak_hour_tolerance_hours: int,
    time_tolerance: timedelta,
) -> list[Judgement]:
    """Judge each recommendation against the truth (the rules are in the module docstring).

    Args:
        recommendations: The target's recommendations.
        labels: The generator's labelled windows.
        cycles: The generator's cycle truth.
        growth_per_30_days: The history's traffic growth (positive: traffic grows).
        peak_hour_tolerance_hours: How far a recommended hour may be from the true peak/trough.
        time_tolerance: How far a recommendation's start may lie outside the true window.
    """
    labels, cycles = list(labels), list(cycles)
    traffic_daily = next(
        (c for c in cycles if c.metric == "request_rate" and c.period == "daily" and c.present),
        None,
    )
    traffic_weekly = next(
        (c for c in cycles if c.metric == "request_rate" and c.period == "weekly" and c.present),
        None,
    )
    judgements = []
    for recommendation in recommendations:
        correct, reason = _judge_one(
            recommendation,
            labels,
            traffic_daily,
            traffic_weekly,
            growth_per_30_days,
            peak_hour_tolerance_hours,
            time_tolerance,
        )
        subject = f"{recommendation.action} on {recommendation.target}"
        judgements.append(Judgement(subject=subject, correct=correct, reason=reason))
    return judgements


def _judge_one(
    recommendation: ReportedRecommendation,
    labels: list[LabelledWindow],
    traffic_daily: CycleTruth | None,
    traffic_weekly: CycleTruth | None,
    growth_per_30_days: float,
    hour_tolerance: int,
    time_tolerance: timedelta,
) -> tuple[bool, str]:
    action, metric, window = recommendation.action, recommendation.target, recommendation.window
    faults = [
        label for label in labels if label.metric == metric and label.kind in EXPECTED_REPORTS
    ]
    if action in ("scale_up", "scale_down"):
        if metric not in TRAFFIC_DRIVEN_METRICS or traffic_daily is None:
            return False, f"{metric} does not follow a daily traffic cycle"
        assert traffic_daily.peak_hour is not None and traffic_daily.trough_hour is not None
        if window.kind != "recurring" or not window.hours:
            return False, "no recurring hours to act in"
        if action == "scale_up":
            near = any(
                _hour_distance(h, traffic_daily.peak_hour) <= hour_tolerance for h in window.hours
            )
            if not near:
                return False, f"hours {window.hours} miss the peak at {traffic_daily.peak_hour}h"
            days = _weekday_numbers(window.days)
            if days and traffic_weekly is not None and not days & set(traffic_weekly.peak_days):
                return False, f"days {sorted(days)} miss the weekly peak days"
            return True, f"hours reach the peak at {traffic_daily.peak_hour}h"
        off = [
            h for h in window.hours if _hour_distance(h, traffic_daily.trough_hour) > hour_tolerance
        ]
        if off:
            return False, f"hours {off} are not at the trough ({traffic_daily.trough_hour}h)"
        return True, f"at the trough ({traffic_daily.trough_hour}h)"
    if action == "add_capacity_alerting":
        grows = (metric in TRAFFIC_DRIVEN_METRICS and growth_per_30_days > 0) or (
            metric in LEAKING_METRICS
        )
        return grows, "the metric grows" if grows else "the metric does not grow by construction"
    if window.start is None:
        return False, "no start to act at"
    start = window.start
    if action == "investigate":
        if window.end is None:
            inside = [
                f for f in faults if f.start - time_tolerance <= start <= f.end + time_tolerance
            ]
            if inside:
                return True, f"starts inside the true {inside[0].kind}"
            return False, "starts inside no anomaly of the metric"
        span = ((start - time_tolerance).timestamp(), (window.end + time_tolerance).timestamp())
        hit = [f for f in faults if overlaps(span, _interval(f.start, f.end))]
        if hit:
            return True, f"overlaps the true {hit[0].kind}"
        return False, "overlaps no anomaly of the metric"
    if action == "rollback_deploy":
        deploys = [
            f
            for f in faults
            if f.kind == "bad_deploy"
            and f.start - time_tolerance <= start <= f.end + time_tolerance
        ]
        if deploys:
            return True, "follows the true bad deploy"
        return False, "follows no bad deploy of the metric"
    if action == "add_anomaly_alerting":
        end = window.end or start
        span = ((start - time_tolerance).timestamp(), (end + time_tolerance).timestamp())
        spikes = [
            f
            for f in faults
            if f.kind in ("spike", "intermittent") and overlaps(span, _interval(f.start, f.end))
        ]
        if spikes:
            return True, f"covers {len(spikes)} true spike(s) or burst(s)"
        return False, "covers no true spike or burst of the metric"
    return False, f"{action!r} is not an action the truth can support"


def combine_accuracy(
    f1: float, seasonality: float, recommendations: float, settings: PatternsPartConfig
) -> float:
    """pattern_accuracy: the weighted mean of the three parts.

    Args:
        f1: Detection F1.
        seasonality: Seasonality accuracy.
        recommendations: Recommendation precision.
        settings: The weights.
    """
    weights = (
        settings.detection_weight,
        settings.seasonality_weight,
        settings.recommendation_weight,
    )
    total = sum(weights)
    return (weights[0] * f1 + weights[1] * seasonality + weights[2] * recommendations) / total


def _share(judgements: list[Judgement]) -> float:
    return sum(j.correct for j in judgements) / len(judgements) if judgements else 0.0


def score_patterns(
    answer: PatternAnswer,
    labels: Iterable[LabelledWindow],
    cycles: Iterable[CycleTruth],
    growth_per_30_days: float,
    settings: PatternsPartConfig,
    metrics: Iterable[str] | None = None,
) -> PatternScore:
    """Score a target's whole answer against the truth.

    Args:
        answer: What the target answered.
        labels: The generator's labelled windows.
        cycles: The generator's cycle truth.
        growth_per_30_days: The history's traffic growth.
        settings: Tolerances and weights.
        metrics: The metrics that were sent; truth about other metrics is left out.
    """
    sent = set(metrics) if metrics is not None else None
    labels = [label for label in labels if sent is None or label.metric in sent]
    cycles = [cycle for cycle in cycles if sent is None or cycle.metric in sent]
    tolerance = timedelta(minutes=settings.time_tolerance_minutes)
    detection = score_detections(labels, answer.anomalies, tolerance)
    seasonality = score_seasonality(cycles, answer.patterns, settings.peak_hour_tolerance_hours)
    recommendations = judge_recommendations(
        answer.recommendations,
        labels,
        cycles,
        growth_per_30_days,
        peak_hour_tolerance_hours=settings.peak_hour_tolerance_hours,
        time_tolerance=tolerance,
    )
    window = detection.window_score
    f1 = window.f1 or 0.0
    season = _share(seasonality)
    recommended = _share(recommendations)
    return PatternScore(
        detection=detection,
        seasonality=seasonality,
        recommendations=recommendations,
        pattern_precision=window.precision,
        pattern_recall=window.recall,
        pattern_f1=f1,
        seasonality_accuracy=season,
        recommendation_precision=recommended,
        pattern_accuracy=combine_accuracy(f1, season, recommended, settings),
    )


# -- checks -----------------------------------------------------------------------------------


def pattern_checks(score: PatternScore, settings: PatternsPartConfig) -> list[CheckResult]:
    """The patterns part's checks, as predicates over its score.

    Args:
        score: The scored answer.
        settings: The thresholds.
    """
    wrong = [j for j in score.recommendations if not j.correct]
    missed = [w for w in score.detection.windows if w.side == "truth" and w.outcome == "missed"]
    false = [w for w in score.detection.windows if w.side == "report" and w.outcome == "false"]
    accuracy_passed = score.pattern_accuracy > settings.min_pattern_accuracy
    parts = (
        f"detection F1 {score.pattern_f1:.2f} (precision {_ratio(score.pattern_precision)}, "
        f"recall {_ratio(score.pattern_recall)}), seasonality {score.seasonality_accuracy:.2f}, "
        f"recommendations {score.recommendation_precision:.2f} right"
    )
    accuracy = CheckResult(
        name="pattern_accuracy_above_threshold",
        status=Status.PASSED if accuracy_passed else Status.FAILED,
        message=(
            f"pattern accuracy {score.pattern_accuracy:.2f} "
            f"{'>' if accuracy_passed else '<='} {settings.min_pattern_accuracy:.2f}: {parts}"
        ),
        measured={
            "pattern_accuracy": score.pattern_accuracy,
            "pattern_f1": score.pattern_f1,
            "seasonality_accuracy": score.seasonality_accuracy,
            "recommendation_precision": score.recommendation_precision,
        },
    )
    f1_passed = score.pattern_f1 >= settings.min_window_f1
    f1 = CheckResult(
        name="pattern_window_f1_at_least_minimum",
        status=Status.PASSED if f1_passed else Status.FAILED,
        severity=Severity.WARN,
        message=(
            f"window F1 {score.pattern_f1:.2f} {'>=' if f1_passed else '<'} "
            f"{settings.min_window_f1:.2f}: {score.detection.detected} of "
            f"{score.detection.labelled} anomaly windows detected, {len(false)} false reports, "
            f"{score.detection.neutral_reports} neutral"
            + (f"; first missed: {missed[0].kind} on {missed[0].metric}" if missed else "")
        ),
        measured={
            "labelled": score.detection.labelled,
            "detected": score.detection.detected,
            "reported": score.detection.reported,
            "true_reports": score.detection.true_reports,
        },
    )
    recommendations_passed = score.recommendation_precision >= settings.min_recommendation_precision
    total = len(score.recommendations)
    recommendations = CheckResult(
        name="recommendations_supported_by_truth",
        status=Status.PASSED if recommendations_passed else Status.FAILED,
        severity=Severity.WARN,
        message=(
            f"{total - len(wrong)} of {total} recommendations supported by the truth"
            + (f"; e.g. {wrong[0].subject}: {wrong[0].reason}" if wrong else "")
            if total
            else "the target made no recommendation"
        ),
        measured={"recommendations": total, "supported": total - len(wrong)},
    )
    return [accuracy, f1, recommendations]


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


# -- pattern -> optimization --------------------------------------------------------------------


def select_optimization(
    recommendations: Iterable[ReportedRecommendation], rules: Iterable[OptimizationRule]
) -> tuple[ReportedRecommendation, OptimizationRule] | None:
    """The target's first recommendation (in its own order: its top one) that a rule maps.

    Args:
        recommendations: The target's recommendations, as it ordered them.
        rules: The mapping rules, first match wins.
    """
    rules = list(rules)
    for recommendation in recommendations:
        for rule in rules:
            if rule.action == recommendation.action and rule.target_contains in (
                recommendation.target
            ):
                return recommendation, rule
    return None


def planned_config(current: dict[str, float], rule: OptimizationRule) -> dict[str, float]:
    """The /admin/config body that applies `rule` to the `current` configuration.

    Args:
        current: The target's configuration now (its /admin/config answer).
        rule: The rule to apply.

    Raises:
        ValueError: When the target's configuration lacks a key the rule changes.
    """
    planned: dict[str, float] = {}
    for key, delta in rule.change.items():
        if key not in current:
            raise ValueError(
                f"the target's configuration has no {key!r} (it has {sorted(current)}); "
                "change the optimization rule"
            )
        value = current[key] + delta
        # Counts stay whole and workers at least one; the rate stays positive.
        if key == "learning_rate":
            planned[key] = max(value, 1e-9)
        else:
            planned[key] = max(1 if key == "workers" else 0, round(value))
    return planned


def judge_optimization(
    recommendation: ReportedRecommendation,
    rule: OptimizationRule,
    applied: dict[str, float],
    before: list[float],
    after: list[float],
) -> CheckResult:
    """Whether the measure improved by the promised share after the change.

    Args:
        recommendation: The recommendation acted on.
        rule: The rule that mapped it.
        applied: The configuration change that was applied.
        before: The measure per round before the change.
        after: The measure per round after it.
    """
    name = "recommended_optimization_effect_measured"
    change = ", ".join(f"{key} {value:g}" for key, value in applied.items())
    subject = f"{recommendation.action} on {recommendation.target} -> {change}"
    if not before or not after:
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message=f"{subject}: no load round completed, so no effect was measured",
        )
    baseline, result = float(np.median(before)), float(np.median(after))
    improvement = (baseline - result) / baseline if baseline > 0 else 0.0
    passed = improvement >= rule.min_improvement
    verdict = "shows" if passed else "does not show"
    return CheckResult(
        name=name,
        status=Status.PASSED if passed else Status.FAILED,
        message=(
            f"{subject}: {rule.measure} {baseline:.4g} -> {result:.4g} (median of "
            f"{len(before)} and {len(after)} rounds), {improvement:+.1%}; the promised effect "
            f"({rule.min_improvement:.0%} better) {verdict}"
        ),
        measured={"before": baseline, "after": result, "improvement": improvement},
    )
