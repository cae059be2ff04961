"""The patterns part of the workflow suite: is the target's pattern analysis right?"""

from __future__ import annotations

from prefect import flow

from tasks.patterns import (
    build_request,
    change_config,
    generate_history,
    judge_score,
    measure_load,
    metrics_to_send,
    record_windows,
    request_analysis,
    score_answer,
    settle,
)
from vigil.config import Capability
from vigil.errors import RunError
from vigil.results import CheckResult, Measurement, Status, SuiteResult, utc_now
from vigil.run import SuiteRun
from vigil.scoring.patterns import (
    PatternAnswer,
    PatternsPartConfig,
    judge_optimization,
    planned_config,
    select_optimization,
)

OPTIMIZATION_CHECK = "recommended_optimization_effect_measured"


@flow(name="patterns")
def patterns(run: SuiteRun, settings: PatternsPartConfig) -> SuiteResult:
    """Send the run's 90-day metrics history for analysis and score the answer against its truth.

    Returns the part's result for the workflow suite to merge and record (it
    records only its labelled and reported windows).

    Args:
        run: The run, its seed, its dataset settings and the started target's endpoint.
        settings: Which metrics to send, the sensitivity, tolerances, weights and thresholds.
    """
    started = utc_now()
    if Capability.PATTERNS not in run.endpoint.capabilities:
        skipped = CheckResult(
            name="pattern_accuracy_above_threshold",
            status=Status.NOT_APPLICABLE,
            message="the target does not offer patterns (POST /patterns/analyze)",
        )
        return SuiteResult(suite="workflow", checks=[skipped], started_at=started)
    metrics = metrics_to_send(settings)
    history = generate_history(run)
    body = build_request(history, metrics, settings)
    answer, answered = request_analysis(run.endpoint, body, settings.request_timeout_s)
    checks = [answered]
    measurements: list[Measurement] = []
    if answer is not None:
        score = score_answer(
            answer, history, metrics, run.datasets.metrics.growth_per_30_days, settings
        )
        checks += judge_score(score, settings)
        record_windows(run, score)
        if settings.optimization.enabled:
            checks.append(optimize(run, answer, settings))
        context: dict[str, float | str] = {
            "metrics": len(metrics),
            "days": run.datasets.metrics.days,
            "seed": run.seed,
            "sensitivity": settings.sensitivity,
        }
        values = {
            "pattern_accuracy": score.pattern_accuracy,
            "pattern_f1": score.pattern_f1,
            "pattern_precision": score.pattern_precision,
            "pattern_recall": score.pattern_recall,
            "seasonality_accuracy": score.seasonality_accuracy,
            "recommendation_precision": score.recommendation_precision,
        }
        measurements = [
            Measurement(name=name, value=value, unit="ratio", context=context)
            for name, value in values.items()
            if value is not None
        ]
    else:
        checks.append(
            CheckResult(
                name="pattern_accuracy_above_threshold",
                status=Status.FAILED,
                message=f"no analysis to score: {answered.message}",
            )
        )
    return SuiteResult(
        suite="workflow",
        checks=checks,
        measurements=measurements,
        started_at=started,
        finished_at=utc_now(),
    )


def optimize(run: SuiteRun, answer: PatternAnswer, settings: PatternsPartConfig) -> CheckResult:
    """Apply the target's top applicable recommendation, measure before and after, restore.

    Args:
        run: The run and the started target's endpoint.
        answer: The target's analysis (its recommendations, in its order).
        settings: The optimization rules and load rounds.
    """
    optimization = settings.optimization
    if Capability.ADMIN not in run.endpoint.capabilities or run.endpoint.admin_token is None:
        return CheckResult(
            name=OPTIMIZATION_CHECK,
            status=Status.NOT_APPLICABLE,
            message="the target offers no admin endpoint to apply a recommendation through",
        )
    selected = select_optimization(answer.recommendations, optimization.rules)
    if selected is None:
        return CheckResult(
            name=OPTIMIZATION_CHECK,
            status=Status.NOT_APPLICABLE,
            message="no recommendation of the target maps to a configuration change",
        )
    recommendation, rule = selected
    before = measure_load(run.endpoint, run.seed, optimization, rule.measure, phase=0)
    original = change_config(run.endpoint, {})
    planned = planned_config(original, rule)
    try:
        change_config(run.endpoint, planned)
        settle(optimization.settle_s)
        after = measure_load(run.endpoint, run.seed, optimization, rule.measure, phase=1)
    except RunError as exc:
        return CheckResult(
            name=OPTIMIZATION_CHECK,
            status=Status.FAILED,
            message=f"applying {recommendation.action} on {recommendation.target} failed: {exc}",
        )
    finally:
        change_config(run.endpoint, {key: original[key] for key in planned})
    return judge_optimization(recommendation, rule, planned, before, after)
