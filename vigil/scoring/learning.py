"""Learning effectiveness: did the target's model get better over the simulated days?

The input is what the target answered while vigil replayed the learning stream
(``vigil.load.replay``): vigil scores every answer itself, prequentially (each
prediction was made before its label was sent), and never takes the target's
word for it. From the per-day quality it derives:

* ``improvement``: mean accuracy of the last ``window_days`` days minus that of
  the first ``window_days`` days, with a percentile bootstrap interval that
  resamples days within each window (seeded, so reproducible);
* ``slope_per_day``: the least-squares trend of daily accuracy, with the
  t-based interval of the slope;
* a Mann-Kendall test of the daily accuracy (``pymannkendall``);
* after each known drift, the days until accuracy is back within a tolerance of
  its pre-drift level;
* the gap between the target's own ``/evaluation`` over the replay and vigil's
  scoring of the same labels.

All are pure functions of their inputs, and each judgement returns a
``CheckResult`` named as the predicate it tests. Great Expectations validates
the frame that :meth:`LearningEffectivenessResult.frame` returns.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from vigil.results import CheckResult, Severity, Status

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
            label) and ``probability`` (the predicted probability of label 1). With a
            ``prediction`` column (the class the target answered) accuracy is judged on
            that answer; without one, on ``probability >= 0.5``.

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
    if "prediction" in predictions.columns:
        answered = predictions["prediction"].to_numpy(dtype=float) == 1
    else:
        answered = probability >= 0.5
    scored = pd.DataFrame(
        {
            "day": predictions["day"].to_numpy(),
            "correct": (answered == (label == 1)).astype(float),
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


# -- the learning part of the workflow suite -----------------------------------------------


def score_replay_answers(answers: pd.DataFrame, days: int) -> pd.DataFrame:
    """Per-day prequential quality of the target, computed by vigil from the target's answers.

    Every answered prediction is scored against the stream's true label (vigil knows it
    whether or not the label was accepted): accuracy from the class the target answered,
    log loss from its score. Days without a single answered prediction keep a row with
    ``count`` 0 and NaN quality, so a gap is visible rather than silently closed.

    Args:
        answers: The replay's answers (``vigil.load.replay.ANSWER_COLUMNS``).
        days: Simulated days of the stream; rows 0..days-1 are returned.

    Returns:
        Columns day, accuracy, log_loss, count; one row per day.
    """
    answered = answers[answers["predict_status"].between(200, 299) & answers["request_id"].notna()]
    scored = pd.DataFrame(
        {
            "day": answered["day"].to_numpy(),
            "label": answered["label"].to_numpy(),
            "prediction": answered["prediction"].to_numpy(dtype=float),
            # A target that serves no score gets its class as a (certain) probability.
            "probability": answered["score"].fillna(answered["prediction"]).to_numpy(dtype=float),
        }
    )
    daily = summarise_daily_quality(scored).set_index("day")
    daily = daily.reindex(range(days))
    daily["count"] = daily["count"].fillna(0).astype("int64")
    daily.index.name = "day"
    return daily.reset_index()


class QualityTotals(BaseModel):
    """Prequential quality over a set of labels: how many, how accurate, what log loss."""

    model_config = ConfigDict(frozen=True)

    count: int = Field(ge=0)
    accuracy: float | None = None
    log_loss: float | None = None


def quality_between(before: QualityTotals, after: QualityTotals) -> QualityTotals:
    """The quality of the labels counted between two readings of a running total.

    Args:
        before: The target's ``/evaluation`` total before the replay.
        after: The same total after it.

    Returns:
        Count, accuracy and mean log loss of the labels added in between (None when the
        target did not report the figure).
    """
    added = after.count - before.count
    if added <= 0:
        return QualityTotals(count=max(added, 0))

    def delta(name: str) -> float | None:
        first, last = getattr(before, name), getattr(after, name)
        if last is None or (first is None and before.count):
            return None
        return (last * after.count - (first or 0.0) * before.count) / added

    return QualityTotals(count=added, accuracy=delta("accuracy"), log_loss=delta("log_loss"))


def vigil_quality_of_labels(answers: pd.DataFrame) -> QualityTotals:
    """vigil's own prequential quality over the labels the target accepted.

    Args:
        answers: The replay's answers.

    Returns:
        Count, accuracy (the target's class against the true label) and mean log loss of
        its score, over the rows whose label got a 2xx answer.
    """
    accepted = answers[answers["feedback_status"].between(200, 299)]
    if accepted.empty:
        return QualityTotals(count=0)
    label = accepted["label"].to_numpy(dtype=float)
    correct = accepted["prediction"].to_numpy(dtype=float) == label
    score = accepted["score"].to_numpy(dtype=float)
    log_loss = None
    if np.isfinite(score).all():
        p = score.clip(PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON)
        log_loss = float(np.mean(-(label * np.log(p) + (1 - label) * np.log(1 - p))))
    return QualityTotals(count=len(accepted), accuracy=float(correct.mean()), log_loss=log_loss)


class EvaluationComparison(BaseModel):
    """The target's word on its quality over the replay, next to vigil's own scoring."""

    model_config = ConfigDict(frozen=True)

    target: QualityTotals
    vigil: QualityTotals

    @property
    def accuracy_gap(self) -> float | None:
        """Target's accuracy minus vigil's, or None when either is missing."""
        if self.target.accuracy is None or self.vigil.accuracy is None:
            return None
        return self.target.accuracy - self.vigil.accuracy

    @property
    def log_loss_gap(self) -> float | None:
        """Target's log loss minus vigil's, or None when either is missing."""
        if self.target.log_loss is None or self.vigil.log_loss is None:
            return None
        return self.target.log_loss - self.vigil.log_loss


class TrendResult(BaseModel):
    """Mann-Kendall test of the daily accuracy."""

    model_config = ConfigDict(frozen=True)

    trend: str = Field(description="increasing, decreasing or no trend.")
    p_value: float
    tau: float = Field(description="Kendall's tau of accuracy against day.")
    sen_slope: float = Field(description="Theil-Sen slope of accuracy, per day.")
    alpha: float


def mann_kendall_trend(daily: pd.DataFrame, alpha: float = 0.05) -> TrendResult:
    """Mann-Kendall trend test (``pymannkendall.original_test``) of the daily accuracy.

    Args:
        daily: Per-day quality (day, accuracy), one row per day; NaN days are left out.
        alpha: Significance level.

    Returns:
        The trend, its p-value, tau and Sen's slope; with fewer than three days the trend
        is ``no trend`` with p = 1.
    """
    import pymannkendall

    series = daily.sort_values("day")["accuracy"].dropna().to_numpy(dtype=float)
    if series.size < 3:
        return TrendResult(trend="no trend", p_value=1.0, tau=0.0, sen_slope=0.0, alpha=alpha)
    found = pymannkendall.original_test(series, alpha=alpha)
    return TrendResult(
        trend=str(found.trend),
        p_value=float(found.p),
        tau=float(found.Tau),
        sen_slope=float(found.slope),
        alpha=alpha,
    )


class DriftAdaptation(BaseModel):
    """How the target's quality came back after one known drift."""

    model_config = ConfigDict(frozen=True)

    drift_day: float = Field(description="Day the drift is centred on.")
    kind: str
    end_day: float = Field(description="Day the transition is complete.")
    baseline_accuracy: float | None = Field(
        description="Count-weighted accuracy of the full days before the transition began."
    )
    recovered_day: int | None = Field(
        description="First full day after the transition back within tolerance; None: never."
    )
    adaptation_days: float | None = Field(
        description="From the transition's end to the end of recovered_day; None: never."
    )
    horizon_days: float = Field(
        description="Days watched for recovery: until the next drift begins or the stream ends."
    )

    @property
    def days_or_horizon(self) -> float:
        """The adaptation time, or the whole horizon (a lower bound) when never recovered."""
        return self.horizon_days if self.adaptation_days is None else self.adaptation_days


def measure_drift_adaptation(
    daily: pd.DataFrame,
    drifts: list[tuple[float, float, str]],
    *,
    baseline_days: int = 3,
    tolerance: float = 0.05,
) -> list[DriftAdaptation]:
    """After each drift, the days until daily accuracy is back near its pre-drift level.

    Simulated day ``d`` spans ``[d, d + 1)``. A drift's baseline is the count-weighted
    accuracy of the last `baseline_days` full days before its transition begins (and
    after the previous one ended). Recovery is the first full day after the transition
    ends, before the next one begins, whose accuracy is at least baseline - tolerance.

    Args:
        daily: Per-day quality (day, accuracy, count).
        drifts: ``(start_day, end_day, kind)`` of each drift, in order; equal for a sudden one.
        baseline_days: Days averaged for the baseline.
        tolerance: Accuracy below the baseline that still counts as recovered.

    Returns:
        One entry per drift; a drift without a single full day before it has no baseline
        and counts as recovered at once.
    """
    ordered = daily.sort_values("day")
    day = ordered["day"].to_numpy(dtype=float)
    accuracy = ordered["accuracy"].to_numpy(dtype=float)
    weight = ordered["count"].to_numpy(dtype=float)
    last_day = float(day.max()) if day.size else 0.0
    found: list[DriftAdaptation] = []
    previous_end = 0.0
    for index, (start, end, kind) in enumerate(drifts):
        next_start = drifts[index + 1][0] if index + 1 < len(drifts) else last_day + 1
        before = (day + 1 <= start) & (day >= max(start - baseline_days, previous_end))
        before &= np.isfinite(accuracy) & (weight > 0)
        baseline = (
            float(np.average(accuracy[before], weights=weight[before])) if before.any() else None
        )
        after = (day >= math.ceil(end)) & (day + 1 <= next_start)
        horizon = float(day[after].max() + 1 - end) if after.any() else 0.0
        recovered = None
        if baseline is None:
            recovered = int(day[after].min()) if after.any() else None
        else:
            back = after & np.isfinite(accuracy) & (accuracy >= baseline - tolerance)
            if back.any():
                recovered = int(day[back].min())
        found.append(
            DriftAdaptation(
                drift_day=(start + end) / 2,
                kind=kind,
                end_day=end,
                baseline_accuracy=baseline,
                recovered_day=recovered,
                adaptation_days=None if recovered is None else recovered + 1 - end,
                horizon_days=horizon,
            )
        )
        previous_end = end
    return found


# -- judgements: one check each, named as the predicate it tests ----------------------------


def judge_improvement(effect: LearningEffectivenessResult) -> CheckResult:
    """``learning_improves_over_30_days``: the improvement's CI lower bound is above zero.

    Args:
        effect: The improvement statistics over the replayed days.
    """
    window = effect.window_days
    days = len(effect.days)
    level = f"{effect.confidence:.0%}"
    measured = {
        "improvement": effect.improvement,
        "improvement_ci_low": effect.improvement_ci_low,
        "improvement_ci_high": effect.improvement_ci_high,
        "early_accuracy": effect.early_accuracy,
        "late_accuracy": effect.late_accuracy,
    }
    span = (
        f"accuracy of days {days - window}-{days - 1} minus days 0-{window - 1}: "
        f"{effect.late_accuracy:.3f} - {effect.early_accuracy:.3f} = {effect.improvement:+.3f}, "
        f"{level} CI [{effect.improvement_ci_low:+.3f}, {effect.improvement_ci_high:+.3f}]"
    )
    if not math.isfinite(effect.improvement_ci_low):
        return CheckResult(
            name="learning_improves_over_30_days",
            status=Status.FAILED,
            message=(
                "no improvement could be measured: the confidence interval is undefined "
                f"({span}); some days have no answered predictions"
            ),
            measured={k: v for k, v in measured.items() if math.isfinite(v)},
        )
    if effect.improved:
        return CheckResult(
            name="learning_improves_over_30_days",
            status=Status.PASSED,
            message=f"the model measurably improved: {span} lies above 0",
            measured=measured,
        )
    return CheckResult(
        name="learning_improves_over_30_days",
        status=Status.FAILED,
        message=(
            f"no measurable improvement: {span}; its lower bound is not above 0, "
            "so the model did not get better from what it was taught"
        ),
        measured=measured,
    )


def judge_trend(trend: TrendResult) -> CheckResult:
    """``trend_is_increasing``: Mann-Kendall finds a significant upward trend (a warning).

    A drift legitimately breaks the trend for a while, so this check only warns.

    Args:
        trend: The Mann-Kendall test of the daily accuracy.
    """
    passed = trend.trend == "increasing" and trend.p_value < trend.alpha
    described = (
        f"Mann-Kendall on daily accuracy: {trend.trend}, p = {trend.p_value:.3g} "
        f"(alpha {trend.alpha:g}), tau = {trend.tau:+.2f}, Sen slope {trend.sen_slope:+.4f}/day"
    )
    return CheckResult(
        name="trend_is_increasing",
        status=Status.PASSED if passed else Status.FAILED,
        severity=Severity.WARN,
        message=described if passed else f"no significant upward trend: {described}",
        measured={"p_value": trend.p_value, "tau": trend.tau, "sen_slope": trend.sen_slope},
    )


def judge_adaptation(adaptations: list[DriftAdaptation], max_days: float) -> CheckResult:
    """``adapts_after_drift``: quality is back near its pre-drift level soon after every drift.

    Only a warning: a new concept may be harder for the model than the old one, so a
    learner that adapts well can still stay below its old level.

    Args:
        adaptations: One entry per known drift.
        max_days: Longest acceptable adaptation.
    """
    if not adaptations:
        return CheckResult(
            name="adapts_after_drift",
            status=Status.NOT_APPLICABLE,
            severity=Severity.WARN,
            message="the stream has no drift to adapt to",
        )
    parts = []
    late = []
    for item in adaptations:
        baseline = "n/a" if item.baseline_accuracy is None else f"{item.baseline_accuracy:.3f}"
        if item.adaptation_days is None:
            parts.append(
                f"day {item.drift_day:g} ({item.kind}, baseline {baseline}): not recovered "
                f"in {item.horizon_days:g} days"
            )
            late.append(item)
        else:
            parts.append(
                f"day {item.drift_day:g} ({item.kind}, baseline {baseline}): recovered on day "
                f"{item.recovered_day} ({item.adaptation_days:g} days)"
            )
            if item.adaptation_days > max_days:
                late.append(item)
    worst = max(item.days_or_horizon for item in adaptations)
    summary = "; ".join(parts)
    return CheckResult(
        name="adapts_after_drift",
        status=Status.FAILED if late else Status.PASSED,
        severity=Severity.WARN,
        message=(
            f"{len(late)} of {len(adaptations)} drift(s) not recovered within "
            f"{max_days:g} days: {summary}"
            if late
            else f"every drift recovered within {max_days:g} days: {summary}"
        ),
        measured={"max_adaptation_days": worst, "unrecovered_drifts": float(len(late))},
    )


def judge_evaluation(comparison: EvaluationComparison, tolerance: float) -> CheckResult:
    """``evaluation_agrees_with_vigil``: the target's /evaluation tells the truth.

    The target must have counted exactly the labels it accepted during the replay, and
    its accuracy over them must lie within `tolerance` of vigil's own scoring.

    Args:
        comparison: The target's figures over the replay and vigil's.
        tolerance: Largest acceptable absolute accuracy gap.
    """
    target, ours = comparison.target, comparison.vigil
    gap = comparison.accuracy_gap
    measured = {"target_count": float(target.count), "vigil_count": float(ours.count)}
    if gap is not None:
        measured["accuracy_gap"] = gap
    if comparison.log_loss_gap is not None:
        measured["log_loss_gap"] = comparison.log_loss_gap
    problems = []
    if target.count != ours.count:
        problems.append(
            f"/evaluation counted {target.count} new label(s) but the target accepted {ours.count}"
        )
    if gap is None:
        problems.append("/evaluation reported no accuracy for the replayed labels")
    elif abs(gap) > tolerance:
        problems.append(
            f"/evaluation says accuracy {target.accuracy:.4f}, vigil scored its answers "
            f"{ours.accuracy:.4f} (gap {gap:+.4f}, tolerance {tolerance:g})"
        )
    if problems:
        return CheckResult(
            name="evaluation_agrees_with_vigil",
            status=Status.FAILED,
            message="; ".join(problems),
            measured=measured,
        )
    return CheckResult(
        name="evaluation_agrees_with_vigil",
        status=Status.PASSED,
        message=(
            f"/evaluation agrees with vigil over {ours.count} labels: accuracy "
            f"{target.accuracy:.4f} vs {ours.accuracy:.4f} (gap {gap:+.4f}, tolerance "
            f"{tolerance:g})"
        ),
        measured=measured,
    )


def judge_replay(answers: pd.DataFrame, truncated: bool, elapsed_s: float) -> CheckResult:
    """``every_row_replayed``: every prediction was answered and every label accepted.

    Args:
        answers: The replay's answers.
        truncated: Whether the time cap stopped the replay early.
        elapsed_s: How long the replay took.
    """
    rows = len(answers)
    # A 2xx whose body broke the contract has no request id: it answered nothing usable.
    usable = answers["predict_status"].between(200, 299) & answers["request_id"].notna()
    predicted = int(usable.sum())
    labelled = int(answers["feedback_status"].between(200, 299).sum())
    measured = {
        "rows": float(rows),
        "predictions_answered": float(predicted),
        "labels_accepted": float(labelled),
        "elapsed_s": elapsed_s,
    }
    if predicted == rows and labelled == rows and not truncated:
        return CheckResult(
            name="every_row_replayed",
            status=Status.PASSED,
            message=f"all {rows} rows predicted and labelled in {elapsed_s:.1f} s",
            measured=measured,
        )
    problems = []
    if truncated:
        problems.append(f"the time cap stopped the replay after {elapsed_s:.1f} s")
    failures = answers[~usable]
    if len(failures):
        first = failures.iloc[0]
        problems.append(
            f"{len(failures)} of {rows} predictions got no usable answer (first: row "
            f"{int(first['row_id'])}, status {int(first['predict_status'])}, "
            f"{first['predict_error'] or 'not sent'})"
        )
    refused = answers[usable & ~answers["feedback_status"].between(200, 299)]
    if len(refused):
        first = refused.iloc[0]
        problems.append(
            f"{len(refused)} label(s) refused (first: row {int(first['row_id'])}, status "
            f"{int(first['feedback_status'])}, {first['feedback_error']})"
        )
    return CheckResult(
        name="every_row_replayed",
        status=Status.FAILED,
        message="; ".join(problems),
        measured=measured,
    )
