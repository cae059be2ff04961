"""The criteria flow: every suite's stored results judged into a verdict and reports."""

from __future__ import annotations

from prefect import flow

from tasks.criteria import finish_run, judge_criteria, publish_artifacts, write_run_reports
from vigil.config import CriterionConfig
from vigil.criteria import Judgement, verdict
from vigil.run import RunRef


@flow(name="criteria")
def criteria(
    run: RunRef, success_criteria: dict[str, CriterionConfig], error: str | None = None
) -> Judgement:
    """Judge the run's criteria, record the verdict, write and publish the reports.

    Args:
        run: The run to judge (its results are read from vigil's store).
        success_criteria: The success criteria, by name.
        error: An infrastructure error that cut the run short; makes the verdict `error`.
    """
    outcomes = judge_criteria(run, success_criteria)
    decided = verdict(outcomes, errored=error is not None)
    finish_run(run, decided, error)
    write_run_reports(run)
    publish_artifacts(run, outcomes, decided)
    return Judgement(verdict=decided, outcomes=outcomes)
