"""The learning part of the workflow suite: does the target learn from 30 days of labels?"""

from __future__ import annotations

from prefect import flow

from tasks.data import generate_learning_stream, validate_expectations
from tasks.learning import (
    compare_evaluation,
    judge_learning,
    missing_capabilities,
    not_applicable,
    read_evaluation,
    replay_learning_stream,
    save_learning_curve,
    score_learning,
)
from vigil.errors import TargetProtocolError, TargetUnavailableError
from vigil.results import CheckResult, Status, SuiteResult, utc_now
from vigil.run import SuiteRun
from vigil.scoring.learning_settings import LearningPartConfig


@flow(name="learning")
def learning(run: SuiteRun, settings: LearningPartConfig) -> SuiteResult:
    """Replay the run's learning stream through the target and judge what it learnt.

    Predictions and labels go to the target in simulated-time order (labels only when
    they become available); vigil scores every answer itself, per simulated day, and
    judges the improvement of the last week over the first with a confidence interval,
    the trend, the adaptation after each known drift, and the target's own /evaluation.
    The result is returned for the workflow flow to merge and record, not recorded here.

    Args:
        run: The run, the started target's endpoint and the run's dataset settings.
        settings: Replay bounds and the statistics' parameters.
    """
    started = utc_now()
    missing = missing_capabilities(run.endpoint)
    if missing:
        return SuiteResult(suite="workflow", checks=not_applicable(missing), started_at=started)
    stream = generate_learning_stream(run.datasets.learning, run.seed, run.report_dir)
    try:
        before = read_evaluation(run.endpoint)
        outcome = replay_learning_stream(run.endpoint, stream, settings)
        comparison = compare_evaluation(run.endpoint, before, outcome, settings.evaluation_settle_s)
    except (TargetUnavailableError, TargetProtocolError) as exc:
        failed = CheckResult(
            name="every_row_replayed",
            status=Status.ERROR,
            message=f"the learning replay could not talk to the target: {exc}",
        )
        return SuiteResult(suite="workflow", checks=[failed], started_at=started)
    score = score_learning(outcome, stream, settings, run.seed)
    save_learning_curve(run, score, outcome)
    expectations = validate_expectations(
        score.frame,
        "learning_effectiveness",
        run.report_dir,
        {"days": run.datasets.learning.days},
        raise_on_failure=False,
    )
    checks, measurements = judge_learning(outcome, score, comparison, expectations, settings)
    return SuiteResult(
        suite="workflow",
        checks=checks,
        measurements=measurements,
        started_at=started,
        finished_at=utc_now(),
    )
