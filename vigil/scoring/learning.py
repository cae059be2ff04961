"""Learning effectiveness: did the target's model get better over the simulated days?

The input is the target's prequential quality per simulated day (every
prediction scored before its label was learnt). The output keeps one row per
day and adds two improvement statistics, each with a confidence interval:

* ``improvement``: mean accuracy of the last ``window_days`` days minus that of
  the first ``window_days`` days, with a percentile bootstrap interval that
  resamples days within each window (seeded, so reproducible);
* ``slope_per_day``: the least-squares trend of daily accuracy, with the
  t-based interval of the slope.

Both are pure functions of their inputs; Great Expectations validates the
frame that :meth:`LearningEffectivenessResult.frame` returns.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

DAILY_COLUMNS = ("day", "accuracy", "log_loss", "count")
# Clipping for log loss so a confident wrong answer costs a lot but stays finite.
PROBABILITY_EPSILON = 1e-15



LEARNING_STATISTICS = (
    "improvement",
    "improvement_ci_low",
    "improvement_ci_high",
    "slope_per_day",
    "slope_ci_low",
    "slope_ci_high",
)
"""Statistics every row of the learning-effectiveness frame repeats; its GX suite checks them."""

class DailyQuality(BaseModel):
    """The target's prequential quality over one simulated day."""

    model_config = ConfigDict(frozen=True)

    day: int = Field(ge=0, description="Simulated day, 0-based.")
    accuracy: float = Field(description="Share of the day's predictions that were right.")
    log_loss: float = Field(description="Mean log loss of the day's predicted probabilities.")
    count: int = Field(ge=0, description="Predictions scored that day.")


class LearningEffectivenessResult(BaseModel):
    """Per-day quality and the improvement statistics with their confidence intervals."""

    model_config = ConfigDict(frozen=True)

    days: list[DailyQuality]
    window_days: int = Field(description="Days averaged at each end for `improvement`.")
    confidence: float = Field(description="Confidence level of both intervals.")
    seed: int = Field(description="Seed of the bootstrap.")
    resamples: int = Field(description="Bootstrap resamples.")
    early_accuracy: float = Field(description="Mean accuracy of the first window (count-weighted).")
    late_accuracy: float = Field(description="Mean accuracy of the last window (count-weighted).")
    improvement: float = Field(description="late_accuracy - early_accuracy.")
    improvement_ci_low: float
    improvement_ci_high: float
    slope_per_day: float = Field(description="Least-squares trend of daily accuracy, per day.")
    slope_ci_low: float
    slope_ci_high: float

    @property
    def improved(self) -> bool:
        """Whether the improvement is positive with the stated confidence."""
        return self.improvement_ci_low > 0

    def frame(self) -> pd.DataFrame:
        """One row per day: the quality plus the (repeated) statistics, as GX validates it."""
        frame = pd.DataFrame([day.model_dump() for day in self.days], columns=list(DAILY_COLUMNS))
        frame = frame.astype(
            {"day": "int64", "count": "int64", "accuracy": float, "log_loss": float}
        )
        for name in LEARNING_STATISTICS:
            frame[name] = float(getattr(self, name))
        return frame


def summarise_daily_quality(predictions: pd.DataFrame) -> pd.DataFrame:
    """Turn scored predictions into per-day quality.

    Args:
        predictions: One row per prediction with columns ``day``, ``label`` (0/1, the true
            label) and ``probability`` (the predicted probability of label 1).

    Returns:
        A DataFrame with columns day, accuracy, log_loss, count, sorted by day.
    """
    missing = {"day", "label", "probability"} - set(predictions.columns)
    if missing:
        raise ValueError(
            f"predictions lack column(s) {sorted(missing)}; give day, label and probability"
        )
    probability = (
        predictions["probability"]
        .to_numpy(dtype=float)
        .clip(PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON)
    )
    label = predictions["label"].to_numpy(dtype=float)
    scored = pd.DataFrame(
        {
            "day": predictions["day"].to_numpy(),
            "correct": ((probability >= 0.5) == (label == 1)).astype(float),
            "loss": -(label * np.log(probability) + (1 - label) * np.log(1 - probability)),
        }
    )
    daily = scored.groupby("day", sort=True).agg(
        accuracy=("correct", "mean"), log_loss=("loss", "mean"), count=("correct", "size")
    )
    return daily.reset_index()


def _weighted_means(values: np.ndarray, weights: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Count-weighted mean of `values` for each row of resampled indices `picks`."""
    chosen_weights = weights[picks]
    return (values[picks] * chosen_weights).sum(axis=1) / chosen_weights.sum(axis=1)


def compute_learning_effectiveness(
    daily: pd.DataFrame,
    *,
    seed: int,
    window_days: int = 7,
    confidence: float = 0.95,
    resamples: int = 2000,
) -> LearningEffectivenessResult:
    """Compute late-vs-early improvement and the accuracy trend, each with an interval.

    Args:
        daily: Per-day quality with columns day, accuracy, log_loss, count (one row per day).
        seed: Seed of the bootstrap, so the interval is reproducible.
        window_days: Days averaged at the start and at the end; shrunk to half the days
            when fewer than twice as many days are given.
        confidence: Confidence level of the intervals, e.g. 0.95.
        resamples: Bootstrap resamples.

    Returns:
        The per-day rows and the statistics. With fewer than two days (or three for the
        slope) the statistics are NaN, which the learning_effectiveness suite rejects.
    """
    missing = set(DAILY_COLUMNS) - set(daily.columns)
    if missing:
        raise ValueError(
            f"daily quality lacks column(s) {sorted(missing)}; give {', '.join(DAILY_COLUMNS)}"
        )
    if daily["day"].duplicated().any():
        repeated = sorted(daily.loc[daily["day"].duplicated(), "day"].unique().tolist())
        raise ValueError(f"daily quality repeats day(s) {repeated}; aggregate to one row per day")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence} must lie between 0 and 1, e.g. 0.95")
    if window_days < 1 or resamples < 1:
        raise ValueError(
            f"window_days={window_days} and resamples={resamples} must both be at least 1"
        )
    ordered = daily.sort_values("day").reset_index(drop=True)
    rows = [
        DailyQuality(
            day=int(row.day),
            accuracy=float(row.accuracy),
            log_loss=float(row.log_loss),
            count=int(row.count),
        )
        for row in ordered.itertuples(index=False)
    ]
    accuracy = ordered["accuracy"].to_numpy(dtype=float)
    # A day without predictions carries no weight, but a window of only such days would
    # divide by zero; give every day at least a token weight.
    weights = np.maximum(ordered["count"].to_numpy(dtype=float), 1e-9)
    days = ordered["day"].to_numpy(dtype=float)
    alpha = 1 - confidence
    nan = math.nan

    window = min(window_days, len(rows) // 2)
    early = late = improvement = low = high = nan
    if window >= 1:
        early_idx = np.arange(window)
        late_idx = np.arange(len(rows) - window, len(rows))
        early = float(np.average(accuracy[early_idx], weights=weights[early_idx]))
        late = float(np.average(accuracy[late_idx], weights=weights[late_idx]))
        improvement = late - early
        rng = np.random.default_rng(seed)
        early_draws = _weighted_means(
            accuracy, weights, early_idx[rng.integers(0, window, (resamples, window))]
        )
        late_draws = _weighted_means(
            accuracy, weights, late_idx[rng.integers(0, window, (resamples, window))]
        )
        differences = late_draws - early_draws
        low, high = (float(q) for q in np.quantile(differences, [alpha / 2, 1 - alpha / 2]))

    slope = slope_low = slope_high = nan
    if len(rows) >= 3 and np.ptp(days) > 0:
        fit = stats.linregress(days, accuracy)
        margin = stats.t.ppf(1 - alpha / 2, len(rows) - 2) * fit.stderr
        slope, slope_low, slope_high = (
            float(fit.slope),
            float(fit.slope - margin),
            float(fit.slope + margin),
        )

    return LearningEffectivenessResult(
        days=rows,
        window_days=max(window, 0),
        confidence=confidence,
        seed=seed,
        resamples=resamples,
        early_accuracy=early,
        late_accuracy=late,
        improvement=improvement,
        improvement_ci_low=low,
        improvement_ci_high=high,
        slope_per_day=slope,
        slope_ci_low=slope_low,
        slope_ci_high=slope_high,
    )
