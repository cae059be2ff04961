"""vigil's scoring of a replay: daily quality, the /evaluation comparison, trend, adaptation.

Every expected number below is worked out by hand from the inputs next to it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vigil.results import Severity, Status
from vigil.scoring.learning import (
    EvaluationComparison,
    QualityTotals,
    compute_learning_effectiveness,
    judge_adaptation,
    judge_evaluation,
    judge_improvement,
    judge_replay,
    judge_trend,
    mann_kendall_trend,
    measure_drift_adaptation,
    quality_between,
    score_replay_answers,
    summarise_daily_quality,
    vigil_quality_of_labels,
)


def _answers(rows: list[tuple[int, int, float, float, int, int]]) -> pd.DataFrame:
    """(day, label, prediction, score, predict_status, feedback_status) per row."""
    day, label, prediction, score, predict_status, feedback_status = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "row_id": range(len(rows)),
            "day": day,
            "label": label,
            "request_id": [f"r{i}" if s == 200 else None for i, s in enumerate(predict_status)],
            "prediction": prediction,
            "score": score,
            "predict_status": predict_status,
            "predict_error": [None if s == 200 else "HTTP 500" for s in predict_status],
            "feedback_status": feedback_status,
            "feedback_error": [None if s == 202 else "refused" for s in feedback_status],
        }
    )


ANSWERS = _answers(
    [
        # day 0: right (p .8), wrong (answered 1 on label 0, p .7), right (0 on 0, p .4)
        (0, 1, 1, 0.8, 200, 202),
        (0, 0, 1, 0.7, 200, 202),
        (0, 0, 0, 0.4, 200, 202),
        # day 1: the target answered class 0 with score .6: the answer, not the score, counts
        (1, 0, 0, 0.6, 200, 202),
        # day 1: no answer at all: not scored, label never sent
        (1, 1, math.nan, math.nan, 500, -1),
        # day 3: answered right but the label was refused
        (3, 1, 1, 0.9, 200, 409),
    ]
)


def test_daily_quality_is_scored_from_the_targets_answers_and_keeps_empty_days():
    daily = score_replay_answers(ANSWERS, days=4)
    assert daily["day"].tolist() == [0, 1, 2, 3]
    assert daily["count"].tolist() == [3, 1, 0, 1]
    assert daily["accuracy"].iloc[0] == pytest.approx(2 / 3)
    # Answer 0 on label 0 is right even though its score .6 would say 1.
    assert daily["accuracy"].iloc[1] == 1.0
    assert math.isnan(daily["accuracy"].iloc[2]) and math.isnan(daily["log_loss"].iloc[2])
    assert daily["log_loss"].iloc[0] == pytest.approx(
        -(math.log(0.8) + math.log(0.3) + math.log(0.6)) / 3
    )
    assert daily["log_loss"].iloc[1] == pytest.approx(-math.log(0.4))


def test_summary_uses_the_prediction_column_when_given():
    predictions = pd.DataFrame(
        {"day": [0, 0], "label": [1, 1], "probability": [0.9, 0.9], "prediction": [1, 0]}
    )
    assert summarise_daily_quality(predictions)["accuracy"].tolist() == [0.5]


def test_quality_between_two_running_totals_is_the_quality_of_the_labels_added():
    before = QualityTotals(count=10, accuracy=0.5, log_loss=0.7)
    after = QualityTotals(count=30, accuracy=0.6, log_loss=0.5)
    added = quality_between(before, after)
    # correct 5 -> 18, loss sum 7 -> 15 over 20 new labels
    assert added.count == 20
    assert added.accuracy == pytest.approx(13 / 20)
    assert added.log_loss == pytest.approx(8 / 20)
    assert quality_between(QualityTotals(count=0), after).accuracy == pytest.approx(0.6)
    assert quality_between(after, after) == QualityTotals(count=0)


def test_vigil_quality_counts_only_labels_the_target_accepted():
    ours = vigil_quality_of_labels(ANSWERS)
    assert ours.count == 4
    assert ours.accuracy == pytest.approx(3 / 4)
    expected_loss = -(math.log(0.8) + math.log(0.3) + math.log(0.6) + math.log(0.4)) / 4
    assert ours.log_loss == pytest.approx(expected_loss)


def test_an_evaluation_that_overstates_accuracy_fails_with_both_figures():
    ours = QualityTotals(count=4, accuracy=0.75, log_loss=0.6)
    honest = judge_evaluation(EvaluationComparison(target=ours, vigil=ours), tolerance=0.01)
    assert honest.status is Status.PASSED
    boasting = EvaluationComparison(
        target=QualityTotals(count=4, accuracy=0.95, log_loss=0.1), vigil=ours
    )
    check = judge_evaluation(boasting, tolerance=0.01)
    assert check.status is Status.FAILED
    assert "/evaluation says accuracy 0.9500, vigil scored its answers 0.7500" in check.message
    assert check.measured["accuracy_gap"] == pytest.approx(0.2)
    undercount = EvaluationComparison(target=QualityTotals(count=3, accuracy=0.75), vigil=ours)
    check = judge_evaluation(undercount, tolerance=0.01)
    assert check.status is Status.FAILED
    assert "counted 3 new label(s) but the target accepted 4" in check.message


def test_mann_kendall_of_a_rising_series_matches_the_textbook_statistic():
    daily = pd.DataFrame({"day": range(10), "accuracy": np.linspace(0.5, 0.9, 10)})
    trend = mann_kendall_trend(daily, alpha=0.05)
    # n = 10, every pair rising: S = 45, Var(S) = n(n-1)(2n+5)/18 = 125, Z = (S-1)/sqrt(125)
    z = 44 / math.sqrt(125)
    assert trend.trend == "increasing"
    assert trend.p_value == pytest.approx(2 * (1 - stats.norm.cdf(z)))
    assert trend.tau == pytest.approx(1.0)
    assert trend.sen_slope == pytest.approx(0.4 / 9)
    assert judge_trend(trend).status is Status.PASSED


def test_a_flat_series_has_no_trend_and_only_warns():
    daily = pd.DataFrame({"day": range(10), "accuracy": [0.7, 0.71] * 5})
    check = judge_trend(mann_kendall_trend(daily))
    assert check.status is Status.FAILED and check.severity is Severity.WARN
    assert check.message.startswith("no significant upward trend: Mann-Kendall on daily accuracy")


def _daily(accuracy: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"day": range(len(accuracy)), "accuracy": accuracy, "log_loss": 0.5, "count": 100}
    )


def test_adaptation_is_counted_from_the_drifts_end_to_the_first_day_back_near_baseline():
    daily = _daily([0.8, 0.8, 0.8, 0.8, 0.8, 0.5, 0.6, 0.76, 0.8, 0.8])
    (sudden,) = measure_drift_adaptation(daily, [(5.0, 5.0, "sudden")], baseline_days=3)
    # baseline: days 2-4 = 0.8; first day >= 0.75 after day 5 is day 7; its end is day 8
    assert sudden.baseline_accuracy == pytest.approx(0.8)
    assert sudden.recovered_day == 7
    assert sudden.adaptation_days == pytest.approx(3.0)
    assert sudden.horizon_days == pytest.approx(5.0)
    (gradual,) = measure_drift_adaptation(daily, [(3.5, 5.5, "gradual")], baseline_days=3)
    # baseline: the full days before 3.5 are 0, 1, 2; watched from day 6 (the first full one)
    assert gradual.baseline_accuracy == pytest.approx(0.8)
    assert gradual.recovered_day == 7
    assert gradual.adaptation_days == pytest.approx(2.5)


def test_a_drift_never_recovered_before_the_next_one_is_reported_with_its_horizon():
    daily = _daily([0.8, 0.8, 0.8, 0.5, 0.5, 0.5, 0.9, 0.9, 0.9, 0.9])
    first, second = measure_drift_adaptation(
        daily, [(3.0, 3.0, "sudden"), (6.0, 6.0, "sudden")], baseline_days=3, tolerance=0.05
    )
    assert first.recovered_day is None and first.adaptation_days is None
    assert first.horizon_days == pytest.approx(3.0)  # days 3, 4, 5
    # The second drift's baseline is days 3-5 only (after the first drift ended): 0.5.
    assert second.baseline_accuracy == pytest.approx(0.5)
    assert second.adaptation_days == pytest.approx(1.0)
    check = judge_adaptation([first, second], max_days=7)
    assert check.status is Status.FAILED and check.severity is Severity.WARN
    assert "1 of 2 drift(s) not recovered within 7 days" in check.message
    assert "day 3 (sudden, baseline 0.800): not recovered in 3 days" in check.message
    assert check.measured["max_adaptation_days"] == pytest.approx(3.0)


def test_a_frozen_model_is_judged_not_to_improve_with_the_interval_in_the_message():
    accuracy = [0.66] * 15 + [0.2] * 15
    effect = compute_learning_effectiveness(_daily(accuracy), seed=1, window_days=7)
    check = judge_improvement(effect)
    assert check.status is Status.FAILED
    assert check.message.startswith("no measurable improvement: accuracy of days 23-29 minus")
    assert "0.200 - 0.660 = -0.460, 95% CI [-0.460, -0.460]" in check.message
    rising = compute_learning_effectiveness(
        _daily([0.6 + 0.01 * d for d in range(30)]), seed=1, window_days=7
    )
    passed = judge_improvement(rising)
    assert passed.status is Status.PASSED
    assert passed.measured["improvement"] == pytest.approx(0.23)


def test_an_unmeasurable_improvement_fails_rather_than_guessing():
    daily = _daily([0.6] * 29 + [math.nan])
    check = judge_improvement(compute_learning_effectiveness(daily, seed=1))
    assert check.status is Status.FAILED
    assert "no improvement could be measured" in check.message


def test_replay_failures_are_named_with_the_first_bad_row():
    check = judge_replay(ANSWERS, truncated=True, elapsed_s=3.25)
    assert check.status is Status.FAILED
    assert "the time cap stopped the replay after 3.2 s" in check.message
    assert (
        "1 of 6 predictions got no usable answer (first: row 4, status 500, HTTP 500)"
        in check.message
    )
    assert "1 label(s) refused (first: row 5, status 409, refused)" in check.message
    healthy = ANSWERS[ANSWERS["feedback_status"] == 202]
    assert judge_replay(healthy, truncated=False, elapsed_s=1.0).status is Status.PASSED
