"""Steps of the learning part of the workflow suite: replay, score, check, judge.

The stream is the run's own (``run.datasets.learning`` with ``run.seed``), so it is
the same data the data suite checked. The target is asked for its quality before
and after the replay; everything else vigil computes itself from the answers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from vigil.config import Capability
from vigil.load.replay import ReplayOutcome, replay_stream, sample_rows
from vigil.results import CheckResult, Measurement, Severity, Status
from vigil.run import RunRef
from vigil.scoring.learning import (
    DriftAdaptation,
    EvaluationComparison,
    LearningEffectivenessResult,
    QualityTotals,
    TrendResult,
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
    vigil_quality_of_labels,
)
from vigil.scoring.learning_settings import LearningPartConfig
from vigil.store import open_store, record_learning_curve
from vigil.synth.learning import LearningStream
from vigil.targets.base import TargetEndpoint
from vigil.targets.client import TargetClient

if TYPE_CHECKING:  # Great Expectations is slow to import; only the validating step loads it.
    from expectations.runner import ExpectationReport

NEEDED = (Capability.PREDICT, Capability.FEEDBACK)
CURVE_FILE = "learning_curve.parquet"
ANSWERS_FILE = "learning_answers.parquet"


@dataclass(frozen=True)
class LearningScore:
    """Everything vigil derived from one replay."""

    effect: LearningEffectivenessResult
    trend: TrendResult
    adaptations: list[DriftAdaptation]

    @property
    def frame(self) -> pd.DataFrame:
        """The daily table Great Expectations checks and the report charts."""
        return self.effect.frame()


def missing_capabilities(endpoint: TargetEndpoint) -> list[str]:
    """The capabilities the replay needs that the target lacks."""
    return [cap.value for cap in NEEDED if cap not in endpoint.capabilities]


@task(name="read-evaluation", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def read_evaluation(endpoint: TargetEndpoint) -> QualityTotals | None:
    """Read the target's running quality total from ``GET /evaluation``.

    Args:
        endpoint: The started target.

    Returns:
        The total, or None when the target has no evaluation capability.
    """
    if Capability.EVALUATION not in endpoint.capabilities:
        return None
    with TargetClient(endpoint) as client:
        total = client.evaluation().total
    return QualityTotals(count=total.count, accuracy=total.accuracy, log_loss=total.log_loss)


@task(name="replay-learning-stream", cache_policy=NO_CACHE, persist_result=False)
def replay_learning_stream(
    endpoint: TargetEndpoint, stream: LearningStream, settings: LearningPartConfig
) -> ReplayOutcome:
    """Send the stream through ``/predict`` and ``/feedback`` in simulated-time order.

    Args:
        endpoint: The started target.
        stream: The run's learning stream.
        settings: Concurrency, time cap, request timeout, sampling and pace.
    """
    frame = sample_rows(stream.frame, settings.max_rows_per_day)
    outcome = replay_stream(
        frame,
        stream.feature_names,
        endpoint.base_url,
        concurrency=settings.concurrency,
        request_timeout_s=settings.request_timeout_s,
        time_cap_s=settings.time_cap_s,
        simulated_seconds_per_second=settings.simulated_seconds_per_second,
    )
    get_run_logger().info(
        "Replayed %d rows in %.1f s (concurrency %d): %d predictions answered, %d labels "
        "accepted%s",
        len(frame),
        outcome.elapsed_s,
        outcome.concurrency,
        outcome.predictions_answered,
        outcome.labels_accepted,
        ", stopped by the time cap" if outcome.truncated else "",
    )
    return outcome


@task(name="compare-evaluation", cache_policy=NO_CACHE)
def compare_evaluation(
    endpoint: TargetEndpoint,
    before: QualityTotals | None,
    outcome: ReplayOutcome,
    settle_s: float,
) -> EvaluationComparison | None:
    """Read ``/evaluation`` again and set its figures over the replay beside vigil's.

    Waits up to `settle_s` for the target to count every label it accepted (a target
    may learn and count asynchronously).

    Args:
        endpoint: The started target.
        before: The total read before the replay (None: no evaluation capability).
        outcome: The replay.
        settle_s: Longest wait for the count to catch up.
    """
    if before is None:
        return None
    ours = vigil_quality_of_labels(outcome.answers)
    deadline = time.monotonic() + settle_s
    with TargetClient(endpoint) as client:
        while True:
            total = client.evaluation().total
            after = QualityTotals(
                count=total.count, accuracy=total.accuracy, log_loss=total.log_loss
            )
            if after.count - before.count >= ours.count or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
    return EvaluationComparison(target=quality_between(before, after), vigil=ours)


@task(name="score-learning", cache_policy=NO_CACHE, persist_result=False)
def score_learning(
    outcome: ReplayOutcome, stream: LearningStream, settings: LearningPartConfig, seed: int
) -> LearningScore:
    """Score the replay: daily quality, improvement with its CI, trend, drift adaptation.

    Args:
        outcome: The replay.
        stream: The stream replayed (its days and its drift ground truth).
        settings: Window, confidence, resamples, trend alpha, baseline and tolerance.
        seed: Seed of the bootstrap.
    """
    days = int(stream.parameters["config"]["days"])
    daily = score_replay_answers(outcome.answers, days)
    effect = compute_learning_effectiveness(
        daily,
        seed=seed,
        window_days=settings.window_days,
        confidence=settings.confidence,
        resamples=settings.resamples,
    )
    drifts = [
        (drift.day - drift.width_days / 2, drift.day + drift.width_days / 2, drift.kind)
        for drift in stream.drifts
    ]
    return LearningScore(
        effect=effect,
        trend=mann_kendall_trend(daily, settings.trend_alpha),
        adaptations=measure_drift_adaptation(
            daily,
            drifts,
            baseline_days=settings.baseline_days,
            tolerance=settings.adaptation_tolerance,
        ),
    )


@task(name="save-learning-curve", cache_policy=NO_CACHE, persist_result=False, retries=2)
def save_learning_curve(run: RunRef, score: LearningScore, outcome: ReplayOutcome) -> Path:
    """Write the daily table and every answer as Parquet, the curve to vigil's store.

    Args:
        run: The run (its store and report folder).
        score: The scored replay.
        outcome: The replay, whose answers are kept for re-examination.

    Returns:
        The Parquet file of the daily table.
    """
    folder = Path(run.report_dir) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    frame = score.frame
    frame.to_parquet(folder / CURVE_FILE, index=False)
    outcome.answers.to_parquet(folder / ANSWERS_FILE, index=False)
    record_learning_curve(open_store(run.store), run.run_id, frame.to_dict("records"))
    create_table_artifact(
        key="learning-curve",
        table=[
            {
                "day": int(row.day),
                "accuracy": None if math.isnan(row.accuracy) else round(row.accuracy, 4),
                "log_loss": None if math.isnan(row.log_loss) else round(row.log_loss, 4),
                "count": int(row.count),
            }
            for row in frame.itertuples(index=False)
        ],
        description=(
            f"Prequential quality per simulated day, scored by vigil. Improvement "
            f"{score.effect.improvement:+.3f}, {score.effect.confidence:.0%} CI "
            f"[{score.effect.improvement_ci_low:+.3f}, {score.effect.improvement_ci_high:+.3f}]"
        ),
    )
    return folder / CURVE_FILE


@task(name="judge-learning", cache_policy=NO_CACHE)
def judge_learning(
    outcome: ReplayOutcome,
    score: LearningScore,
    comparison: EvaluationComparison | None,
    expectations: ExpectationReport,
    settings: LearningPartConfig,
) -> tuple[list[CheckResult], list[Measurement]]:
    """Turn the scored replay into checks and the measures the criteria judge.

    Args:
        outcome: The replay.
        score: What vigil derived from it.
        comparison: The target's /evaluation beside vigil's scoring (None: no capability).
        expectations: The Great Expectations report on the daily table.
        settings: Tolerances and limits.
    """
    effect = score.effect
    context: dict[str, float | str] = {
        "days": float(len(effect.days)),
        "rows": float(len(outcome.answers)),
        "window_days": float(effect.window_days),
        "confidence": effect.confidence,
    }
    checks = [
        judge_replay(outcome.answers, outcome.truncated, outcome.elapsed_s),
        judge_improvement(effect),
        judge_trend(score.trend),
        judge_adaptation(score.adaptations, settings.max_adaptation_days),
        _judge_expectations(expectations),
    ]
    measurements = []
    for name, value, unit in (
        ("learning_improvement_ci_low", effect.improvement_ci_low, "accuracy"),
        ("learning_improvement", effect.improvement, "accuracy"),
        ("learning_improvement_ci_high", effect.improvement_ci_high, "accuracy"),
        ("learning_trend_p", score.trend.p_value, ""),
    ):
        # An unmeasurable figure is left out: a criterion never measured cannot pass.
        if math.isfinite(value):
            where = (
                {**context, "trend": score.trend.trend} if name == "learning_trend_p" else context
            )
            measurements.append(Measurement(name=name, value=value, unit=unit, context=where))
    if score.adaptations:
        unrecovered = sum(item.adaptation_days is None for item in score.adaptations)
        measurements.append(
            Measurement(
                name="learning_adaptation_days",
                value=max(item.days_or_horizon for item in score.adaptations),
                unit="days",
                context={
                    **context,
                    "drifts": float(len(score.adaptations)),
                    "unrecovered_drifts": float(unrecovered),
                    # An unrecovered drift contributes the days watched: a lower bound.
                    "lower_bound": "yes" if unrecovered else "no",
                },
            )
        )
    if comparison is None:
        checks.append(
            CheckResult(
                name="evaluation_agrees_with_vigil",
                status=Status.NOT_APPLICABLE,
                message="the target has no evaluation capability",
            )
        )
    else:
        checks.append(judge_evaluation(comparison, settings.evaluation_tolerance))
        gap = comparison.accuracy_gap
        if gap is not None:
            measurements.append(
                Measurement(
                    name="evaluation_gap",
                    value=abs(gap),
                    unit="accuracy",
                    context={**context, "signed_gap": gap, "labels": float(comparison.vigil.count)},
                )
            )
    return checks, measurements


def _judge_expectations(report: ExpectationReport) -> CheckResult:
    """``learning_table_meets_expectations``: one check summarising the GX suite."""
    failures = report.failures
    measured = {"expectations": float(len(report.checks)), "failed": float(len(failures))}
    where = f" (Data Docs: {report.docs_index})" if report.docs_index else ""
    if failures:
        return CheckResult(
            name="learning_table_meets_expectations",
            status=Status.FAILED,
            severity=Severity.ERROR,
            message=(
                f"the daily learning table failed {len(failures)} of {len(report.checks)} "
                f"expectations: " + "; ".join(check.message for check in failures) + where
            ),
            measured=measured,
        )
    return CheckResult(
        name="learning_table_meets_expectations",
        status=Status.PASSED,
        message=f"the daily learning table met all {len(report.checks)} expectations{where}",
        measured=measured,
    )


def not_applicable(missing: list[str]) -> list[CheckResult]:
    """The part's checks when the target cannot be replayed against at all."""
    reason = f"the target lacks the {', '.join(missing)} capability needed to replay the stream"
    return [
        CheckResult(name=name, status=Status.NOT_APPLICABLE, message=reason)
        for name in ("every_row_replayed", "learning_improves_over_30_days")
    ]
