"""The learning-effectiveness statistics: improvement with a confidence interval, per-day rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vigil.scoring.learning import (
    compute_learning_effectiveness,
    summarise_daily_quality,
)


def _daily(accuracy: np.ndarray, count: int = 500) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": np.arange(accuracy.size),
            "accuracy": accuracy,
            "log_loss": 1.0 - accuracy / 2,
            "count": count,
        }
    )


def test_a_learning_target_shows_improvement_with_a_ci_above_zero() -> None:
    rng = np.random.default_rng(3)
    accuracy = 0.6 + 0.01 * np.arange(30) + rng.normal(0, 0.01, 30)
    result = compute_learning_effectiveness(_daily(accuracy), seed=7)
    first_week, last_week = accuracy[:7].mean(), accuracy[-7:].mean()
    assert result.improvement == pytest.approx(last_week - first_week)
    assert 0 < result.improvement_ci_low < result.improvement < result.improvement_ci_high
    assert result.improved
    assert result.slope_per_day == pytest.approx(0.01, abs=0.002)
    assert result.slope_ci_low < 0.01 < result.slope_ci_high
    assert len(result.days) == 30


def test_a_flat_target_has_a_ci_containing_zero() -> None:
    rng = np.random.default_rng(4)
    accuracy = 0.8 + rng.normal(0, 0.02, 30)
    result = compute_learning_effectiveness(_daily(accuracy), seed=7)
    assert result.improvement_ci_low < 0 < result.improvement_ci_high
    assert not result.improved


def test_a_degrading_target_has_negative_improvement() -> None:
    accuracy = 0.9 - 0.005 * np.arange(30)
    result = compute_learning_effectiveness(_daily(accuracy), seed=7)
    assert result.improvement < 0 and result.improvement_ci_high < 0
    assert result.slope_per_day == pytest.approx(-0.005)


def test_bootstrap_is_reproducible_by_seed() -> None:
    rng = np.random.default_rng(5)
    daily = _daily(0.7 + rng.normal(0, 0.03, 30))
    first = compute_learning_effectiveness(daily, seed=11)
    assert first == compute_learning_effectiveness(daily, seed=11)
    other = compute_learning_effectiveness(daily, seed=12)
    assert other.improvement == first.improvement
    assert (other.improvement_ci_low, other.improvement_ci_high) != (
        first.improvement_ci_low,
        first.improvement_ci_high,
    )


def test_days_are_weighted_by_their_prediction_count() -> None:
    daily = _daily(np.array([0.5, 0.9, 0.7, 0.7]))
    daily["count"] = [100, 300, 100, 100]
    result = compute_learning_effectiveness(daily, seed=1, window_days=2)
    assert result.early_accuracy == pytest.approx((0.5 * 100 + 0.9 * 300) / 400)
    assert result.late_accuracy == pytest.approx(0.7)


def test_frame_has_one_row_per_day_and_the_statistics() -> None:
    daily = _daily(np.linspace(0.6, 0.8, 30)).sample(frac=1, random_state=0)
    result = compute_learning_effectiveness(daily, seed=1)
    frame = result.frame()
    assert list(frame["day"]) == list(range(30))
    assert frame["improvement"].eq(result.improvement).all()
    assert frame["improvement_ci_low"].eq(result.improvement_ci_low).all()
    assert frame["count"].dtype == np.int64


def test_too_few_days_give_nan_statistics_rather_than_a_guess() -> None:
    result = compute_learning_effectiveness(_daily(np.array([0.7])), seed=1)
    assert math.isnan(result.improvement) and math.isnan(result.improvement_ci_low)
    assert math.isnan(result.slope_per_day)
    assert result.frame()["improvement"].isna().all()


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['log_loss'\]"):
        compute_learning_effectiveness(_daily(np.ones(5)).drop(columns="log_loss"), seed=1)
    repeated = pd.concat([_daily(np.ones(3)), _daily(np.ones(2))])
    with pytest.raises(ValueError, match=r"repeats day\(s\) \[0, 1\]"):
        compute_learning_effectiveness(repeated, seed=1)
    with pytest.raises(ValueError, match=r"confidence=1\.5"):
        compute_learning_effectiveness(_daily(np.ones(5)), seed=1, confidence=1.5)


def test_daily_quality_from_scored_predictions() -> None:
    predictions = pd.DataFrame(
        {
            "day": [0, 0, 0, 0, 1, 1],
            "label": [1, 0, 1, 0, 1, 1],
            "probability": [0.9, 0.2, 0.4, 0.6, 0.8, 0.7],
        }
    )
    daily = summarise_daily_quality(predictions)
    assert list(daily["day"]) == [0, 1]
    assert list(daily["count"]) == [4, 2]
    assert daily["accuracy"].tolist() == pytest.approx([0.5, 1.0])
    loss_day_0 = -np.mean(np.log([0.9, 0.8, 0.4, 0.4]))
    assert daily["log_loss"].iloc[0] == pytest.approx(loss_day_0)
    with pytest.raises(ValueError, match=r"lack column\(s\) \['probability'\]"):
        summarise_daily_quality(predictions.drop(columns="probability"))
