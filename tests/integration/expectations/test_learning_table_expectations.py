"""The daily learning table under the real ``learning_effectiveness`` GX suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from expectations.runner import validate_frame
from tasks.learning import _judge_expectations
from vigil.results import Status
from vigil.scoring.learning import compute_learning_effectiveness, score_replay_answers

pytestmark = pytest.mark.integration

DAYS = 30


def _answers(silent_day: int | None) -> pd.DataFrame:
    """Ten answered rows a day, accuracy rising; on `silent_day` every prediction failed."""
    rng = np.random.default_rng(2)
    day = np.repeat(np.arange(DAYS), 10)
    label = rng.integers(0, 2, day.size)
    right = rng.random(day.size) < 0.5 + day / 80
    status = np.where(day == silent_day, 500, 200)
    return pd.DataFrame(
        {
            "row_id": np.arange(day.size),
            "day": day,
            "label": label,
            "request_id": [f"r{i}" if s == 200 else None for i, s in enumerate(status)],
            "prediction": np.where(right, label, 1 - label).astype(float),
            "score": np.where(right == (label == 1), 0.8, 0.2),
            "predict_status": status,
            "feedback_status": np.where(status == 200, 202, -1),
        }
    )


def _table(silent_day: int | None) -> pd.DataFrame:
    daily = score_replay_answers(_answers(silent_day), DAYS)
    return compute_learning_effectiveness(daily, seed=1).frame()


def test_the_daily_table_of_a_healthy_replay_meets_every_expectation(tmp_path: Path) -> None:
    report = validate_frame(_table(None), "learning_effectiveness", tmp_path, days=DAYS)
    check = _judge_expectations(report)
    assert check.status is Status.PASSED, check.message
    assert check.message.startswith("the daily learning table met all")


def test_a_day_without_answers_fails_the_table_with_the_broken_expectations(
    tmp_path: Path,
) -> None:
    report = validate_frame(_table(29), "learning_effectiveness", None, days=DAYS)
    check = _judge_expectations(report)
    assert check.status is Status.FAILED
    assert check.message.startswith("the daily learning table failed")
    # The silent day has no quality and no count; the statistics over it are undefined.
    assert "accuracy" in check.message and "count" in check.message
    assert check.measured["failed"] >= 3
