"""Scoring of pattern analysis against the synthetic truth: detections, cycles, recommendations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from vigil.results import Status
from vigil.scoring.patterns import (
    OptimizationRule,
    PatternAnswer,
    PatternsPartConfig,
    ReportedAnomaly,
    ReportedPattern,
    ReportedRecommendation,
    ReportedWindow,
    combine_accuracy,
    judge_optimization,
    judge_recommendations,
    planned_config,
    score_detections,
    score_patterns,
    score_seasonality,
    select_optimization,
)
from vigil.synth.config import MetricsHistoryConfig
from vigil.synth.metrics import CycleTruth, LabelledWindow, cycle_truth, generate_metrics_history

DAY = datetime(2026, 1, 12, tzinfo=UTC)  # a Monday


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


SPIKE = LabelledWindow(metric="latency_p95_ms", start=at(10), end=at(10.5), kind="spike")
HOLIDAY = LabelledWindow(
    metric="latency_p95_ms", start=at(24), end=at(48) - timedelta(minutes=1), kind="holiday"
)
BAD_DEPLOY = LabelledWindow(metric="error_rate", start=at(60), end=at(64), kind="bad_deploy")
LABELS = [SPIKE, HOLIDAY, BAD_DEPLOY]
CYCLES = cycle_truth(MetricsHistoryConfig())


def report(metric: str, start: float, end: float, kind: str = "spike") -> ReportedAnomaly:
    return ReportedAnomaly(metric=metric, start=at(start), end=at(end), kind=kind)


def test_cycle_truth_of_the_default_history() -> None:
    daily = next(c for c in CYCLES if c.metric == "request_rate" and c.period == "daily")
    weekly = next(c for c in CYCLES if c.metric == "request_rate" and c.period == "weekly")
    assert (daily.peak_hour, daily.trough_hour) == (13, 3)
    assert (weekly.peak_days, weekly.trough_days) == ((0, 1, 2, 3, 4), (5, 6))
    assert any(c.metric == "error_rate" and not c.present for c in CYCLES)


def test_true_neutral_and_false_reports() -> None:
    reports = [
        report("latency_p95_ms", 10.2, 10.3),  # on the spike: true
        report("latency_p95_ms", 30, 31, "level_shift"),  # on the holiday: neutral
        report("latency_p95_ms", 70, 71),  # on nothing: false
    ]
    score = score_detections(LABELS, reports)
    window = score.window_score
    assert (score.true_reports, score.neutral_reports, score.reported) == (1, 1, 2)
    assert window.precision == 0.5
    assert window.recall == 0.5  # the bad deploy on error_rate was missed
    assert score.per_kind["spike"].detected_as_expected == 1
    assert score.per_kind["bad_deploy"].detected == 0
    outcomes = {(w.side, w.kind): w.outcome for w in score.windows}
    assert outcomes[("truth", "bad_deploy")] == "missed"
    assert outcomes[("report", "level_shift")] == "neutral"


def test_a_report_just_after_a_window_belongs_to_it_within_the_tolerance() -> None:
    after_end = [report("latency_p95_ms", 10.5 + 1 / 60, 11.5, "level_shift")]
    assert score_detections([SPIKE], after_end).true_reports == 0
    assert score_detections([SPIKE], after_end, timedelta(minutes=15)).true_reports == 1


def test_reported_kind_is_scored_apart_from_detection() -> None:
    score = score_detections([SPIKE], [report("latency_p95_ms", 10, 10.2, "intermittent")])
    assert score.per_kind["spike"].detected == 1
    assert score.per_kind["spike"].detected_as_expected == 0


def daily(metric: str, peak: int) -> ReportedPattern:
    return ReportedPattern(kind="daily_seasonality", metric=metric, peak_hour=peak)


def weekly(metric: str, high: list[str], low: list[str]) -> ReportedPattern:
    return ReportedPattern(
        kind="weekly_seasonality", metric=metric, peak_days=high, trough_days=low
    )


def daily_truth(metric: str) -> CycleTruth:
    return CycleTruth(metric=metric, period="daily", present=True, peak_hour=13, trough_hour=3)


def test_seasonality_judgements() -> None:
    truths = [
        daily_truth("request_rate"),
        daily_truth("cpu_utilization"),
        CycleTruth(
            metric="request_rate", period="weekly", present=True,
            peak_days=(0, 1, 2, 3, 4), trough_days=(5, 6),
        ),
        CycleTruth(metric="error_rate", period="daily", present=False),
        daily_truth("queue_depth"),
    ]  # fmt: skip
    patterns = [
        daily("request_rate", 14),
        daily("cpu_utilization", 16),
        weekly("request_rate", ["monday", "friday"], ["sunday"]),
        daily("error_rate", 3),
    ]
    judged = {j.subject: j for j in score_seasonality(truths, patterns, tolerance_hours=1)}
    assert judged["daily cycle of request_rate"].correct
    assert not judged["daily cycle of cpu_utilization"].correct
    assert "16:00" in judged["daily cycle of cpu_utilization"].reason
    assert judged["weekly cycle of request_rate"].correct
    assert not judged["daily cycle of error_rate"].correct
    assert judged["daily cycle of queue_depth"].reason == "built but not reported"


def test_weekly_cycle_with_a_weekend_day_among_the_peaks_is_wrong() -> None:
    truth = CycleTruth(
        metric="request_rate", period="weekly", present=True, peak_days=(0, 1, 2, 3, 4),
        trough_days=(5, 6),
    )  # fmt: skip
    pattern = weekly("request_rate", ["friday", "saturday"], ["sunday"])
    assert not score_seasonality([truth], [pattern], 1)[0].correct


def rec(action: str, target: str, **window: object) -> ReportedRecommendation:
    kind = "recurring" if "hours" in window else "interval"
    return ReportedRecommendation(
        action=action, target=target, window=ReportedWindow(kind=kind, **window)
    )


def judge(*recommendations: ReportedRecommendation) -> list[tuple[bool, str]]:
    judged = judge_recommendations(
        recommendations, LABELS, CYCLES, 0.05, peak_hour_tolerance_hours=1,
        time_tolerance=timedelta(minutes=15),
    )  # fmt: skip
    return [(j.correct, j.reason) for j in judged]


def test_capacity_recommendations_must_reach_the_true_peak() -> None:
    right, early, weekend, no_cycle = judge(
        rec("scale_up", "request_rate", hours=[12, 13, 14], days=["monday"]),
        rec("scale_up", "request_rate", hours=[5, 6], days=[]),
        rec("scale_up", "request_rate", hours=[13], days=["saturday", "sunday"]),
        rec("scale_up", "error_rate", hours=[13], days=[]),
    )
    assert right[0]
    assert not early[0] and "miss the peak at 13h" in early[1]
    assert not weekend[0] and "weekly peak days" in weekend[1]
    assert not no_cycle[0] and "does not follow a daily traffic cycle" in no_cycle[1]


def test_rollback_must_follow_a_true_bad_deploy() -> None:
    after, elsewhere, wrong_metric = judge(
        rec("rollback_deploy", "error_rate", start=at(60.1)),
        rec("rollback_deploy", "error_rate", start=at(80)),
        rec("rollback_deploy", "latency_p95_ms", start=at(60.1)),
    )
    assert after == (True, "follows the true bad deploy")
    assert not elsewhere[0] and not wrong_metric[0]


def test_investigate_must_point_into_a_true_anomaly() -> None:
    inside, open_ended, on_holiday = judge(
        rec("investigate", "error_rate", start=at(61), end=at(62)),
        rec("investigate", "error_rate", start=at(63)),
        rec("investigate", "latency_p95_ms", start=at(30), end=at(31)),
    )
    assert inside[0] and open_ended[0]
    assert on_holiday == (False, "overlaps no anomaly of the metric")


def test_unknown_actions_are_not_supported_by_the_truth() -> None:
    ((correct, reason),) = judge(rec("reboot_everything", "error_rate", start=at(61)))
    assert not correct and "not an action the truth can support" in reason


def test_weights_combine_the_three_parts() -> None:
    settings = PatternsPartConfig()
    assert combine_accuracy(1.0, 1.0, 1.0, settings) == pytest.approx(1.0)
    assert combine_accuracy(0.5, 1.0, 0.0, settings) == pytest.approx(0.4)
    only_f1 = PatternsPartConfig(seasonality_weight=0, recommendation_weight=0)
    assert combine_accuracy(0.7, 0.0, 0.0, only_f1) == pytest.approx(0.7)


def test_all_weights_zero_is_refused_with_the_fix() -> None:
    with pytest.raises(ValidationError, match="give at least one a positive weight"):
        PatternsPartConfig(detection_weight=0, seasonality_weight=0, recommendation_weight=0)


def test_an_empty_answer_scores_zero_and_a_perfect_one_scores_one() -> None:
    settings = PatternsPartConfig()
    truths = [c for c in CYCLES if c.metric in ("latency_p95_ms", "error_rate")]
    empty = score_patterns(PatternAnswer(), LABELS, truths, 0.05, settings)
    # error_rate has no cycle, and none was reported: that judgement alone is right.
    assert empty.pattern_f1 == 0.0 and empty.recommendation_precision == 0.0
    assert empty.pattern_accuracy == pytest.approx(0.2 * empty.seasonality_accuracy)
    perfect = PatternAnswer(
        anomalies=[report("latency_p95_ms", 10, 10.5), report("error_rate", 60, 64, "level_shift")],
        recommendations=[rec("rollback_deploy", "error_rate", start=at(60))],
    )
    scored = score_patterns(perfect, LABELS, truths, 0.05, settings)
    assert scored.pattern_accuracy == pytest.approx(1.0)


def test_truth_of_metrics_not_sent_is_left_out() -> None:
    answer = PatternAnswer(anomalies=[report("latency_p95_ms", 10, 10.5)])
    scored = score_patterns(
        answer, LABELS, [], 0.05, PatternsPartConfig(), metrics=["latency_p95_ms"]
    )
    assert scored.pattern_recall == 1.0


def test_the_top_recommendation_a_rule_maps_is_selected() -> None:
    rules = [
        OptimizationRule(action="scale_up", target_contains="cpu", change={"workers": 1}),
        OptimizationRule(action="investigate", change={"cache_size": 100}),
    ]
    recommendations = [
        rec("scale_up", "request_rate", hours=[13], days=[]),
        rec("investigate", "error_rate", start=at(1)),
        rec("scale_up", "cpu_utilization", hours=[13], days=[]),
    ]
    chosen, rule = select_optimization(recommendations, rules)
    assert (chosen.action, chosen.target, rule.change) == (
        "investigate",
        "error_rate",
        {"cache_size": 100},
    )
    assert select_optimization([recommendations[0]], rules[:1]) is None


def test_planned_config_adds_the_change_and_keeps_counts_whole() -> None:
    current = {"workers": 1.0, "cache_size": 1024.0, "learning_rate": 0.1}
    assert planned_config(current, OptimizationRule(action="scale_up", change={"workers": 1})) == {
        "workers": 2
    }
    down = OptimizationRule(action="scale_down", change={"workers": -5})
    assert planned_config(current, down) == {"workers": 1}
    with pytest.raises(ValueError, match="has no 'workers'"):
        planned_config({"cache_size": 1.0}, down)


def test_an_effect_that_never_shows_fails_with_the_numbers() -> None:
    rule = OptimizationRule(action="scale_up", change={"workers": 1}, min_improvement=0.2)
    recommendation = rec("scale_up", "request_rate", hours=[13], days=[])
    unchanged = judge_optimization(
        recommendation, rule, {"workers": 2}, [10.0, 11.0, 12.0], [11.0, 10.5, 12.5]
    )
    assert unchanged.status is Status.FAILED
    assert "scale_up on request_rate -> workers 2" in unchanged.message
    assert "p95_latency_ms 11 -> 11 " in unchanged.message
    assert "(20% better) does not show" in unchanged.message
    better = judge_optimization(recommendation, rule, {"workers": 2}, [10.0, 10.0], [5.0, 6.0])
    assert better.status is Status.PASSED and better.measured["improvement"] == pytest.approx(0.45)
    nothing = judge_optimization(recommendation, rule, {"workers": 2}, [], [1.0])
    assert nothing.status is Status.FAILED and "no load round completed" in nothing.message


def test_cycle_truth_matches_the_generated_data() -> None:
    from datetime import datetime as dt

    config = MetricsHistoryConfig(days=14, start=dt(2026, 1, 7, 18, 0, tzinfo=UTC))
    history = generate_metrics_history(config, seed=3)
    frame = history.frame.set_index("timestamp")
    hourly = frame["request_rate"].groupby(frame.index.hour).mean()
    daily = next(c for c in history.cycles if c.metric == "request_rate" and c.period == "daily")
    assert daily.peak_hour == int(hourly.idxmax())
    assert daily.trough_hour == int(hourly.idxmin())
    by_day = frame["request_rate"].groupby(frame.index.day_of_week).mean()
    weekly = next(c for c in history.cycles if c.metric == "request_rate" and c.period == "weekly")
    assert set(weekly.trough_days) == set(by_day.nsmallest(2).index)
