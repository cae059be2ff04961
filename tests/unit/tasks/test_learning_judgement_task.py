"""The judge-learning step's logic (``.fn()``): which checks and measures a replay yields."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from expectations.runner import ExpectationReport
from tasks.learning import LearningScore, judge_learning
from vigil.load.replay import ReplayOutcome
from vigil.results import CheckResult, Status
from vigil.scoring.learning import (
    EvaluationComparison,
    QualityTotals,
    compute_learning_effectiveness,
    mann_kendall_trend,
    measure_drift_adaptation,
)
from vigil.scoring.learning_settings import LearningPartConfig


def _outcome(rows: int = 30) -> ReplayOutcome:
    answers = pd.DataFrame(
        {
            "row_id": range(rows),
            "request_id": [f"r{i}" for i in range(rows)],
            "day": range(rows),
            "label": 1,
            "prediction": 1.0,
            "score": 0.9,
            "predict_status": 200,
            "predict_error": None,
            "feedback_status": 202,
            "feedback_error": None,
        }
    )
    return ReplayOutcome(answers=answers, order=[], elapsed_s=1.5, truncated=False, concurrency=4)


def _score(accuracy: list[float]) -> LearningScore:
    daily = pd.DataFrame(
        {"day": range(len(accuracy)), "accuracy": accuracy, "log_loss": 0.5, "count": 100}
    )
    return LearningScore(
        effect=compute_learning_effectiveness(daily, seed=3),
        trend=mann_kendall_trend(daily),
        adaptations=measure_drift_adaptation(daily, [(10.0, 10.0, "sudden")]),
    )


GX_PASSED = ExpectationReport(
    suite="learning_effectiveness",
    success=True,
    checks=[CheckResult(name="expect_table_row_count_to_equal", status=Status.PASSED)],
    rows=30,
)


def test_a_learning_replay_yields_every_measure_the_criteria_read():
    accuracy = list(0.6 + 0.01 * np.arange(30))
    comparison = EvaluationComparison(
        target=QualityTotals(count=30, accuracy=1.0), vigil=QualityTotals(count=30, accuracy=1.0)
    )
    checks, measures = judge_learning.fn(
        _outcome(), _score(accuracy), comparison, GX_PASSED, LearningPartConfig()
    )
    by_name = {check.name: check for check in checks}
    assert set(by_name) == {
        "every_row_replayed",
        "learning_improves_over_30_days",
        "trend_is_increasing",
        "adapts_after_drift",
        "learning_table_meets_expectations",
        "evaluation_agrees_with_vigil",
    }
    assert all(check.status is Status.PASSED for check in checks), [c.message for c in checks]
    values = {m.name: m for m in measures}
    assert set(values) >= {
        "learning_improvement_ci_low",
        "learning_improvement",
        "learning_trend_p",
        "learning_adaptation_days",
        "evaluation_gap",
    }
    assert values["learning_improvement"].value == pytest.approx(0.23)
    assert values["learning_improvement"].unit == "accuracy"
    assert values["learning_trend_p"].context["trend"] == "increasing"
    assert values["evaluation_gap"].value == 0.0
    assert values["learning_adaptation_days"].context["lower_bound"] == "no"


def test_without_evaluation_the_comparison_is_not_applicable_and_nan_is_never_a_measure():
    accuracy = [0.6] * 29 + [math.nan]
    checks, measures = judge_learning.fn(
        _outcome(), _score(accuracy), None, GX_PASSED, LearningPartConfig()
    )
    by_name = {check.name: check for check in checks}
    assert by_name["evaluation_agrees_with_vigil"].status is Status.NOT_APPLICABLE
    assert by_name["learning_improves_over_30_days"].status is Status.FAILED
    names = {m.name for m in measures}
    # The CI is undefined, so the criterion finds no measure and cannot pass.
    assert "learning_improvement_ci_low" not in names and "evaluation_gap" not in names
