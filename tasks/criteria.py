"""Steps of the criteria flow: judge, record the verdict, write and publish the reports."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from vigil import criteria as judging
from vigil.config import CriterionConfig
from vigil.criteria import CriterionOutcome, Verdict
from vigil.report import write_reports
from vigil.run import RunRef
from vigil.store import RunStatus, open_store


@task(name="judge-criteria", cache_policy=NO_CACHE, persist_result=False)
def judge_criteria(run: RunRef, criteria: dict[str, CriterionConfig]) -> list[CriterionOutcome]:
    """Judge every enabled criterion against the run's stored measurements and record them.

    Args:
        run: The run to judge.
        criteria: The success criteria, by name.
    """
    store = open_store(run.store)
    suites = store.suites(run.run_id)
    measurements = [(s.suite, m) for s in suites for m in s.measurements]
    outcomes = judging.judge_all(criteria, measurements, store.suite_statuses(run.run_id))
    store.record_criteria(run.run_id, outcomes)
    logger = get_run_logger()
    for outcome in outcomes:
        logger.info("Criterion %s: %s (%s)", outcome.name, outcome.status.value, outcome.message)
    return outcomes


@task(name="finish-run", cache_policy=NO_CACHE, persist_result=False)
def finish_run(run: RunRef, verdict: Verdict, error: str | None) -> None:
    """Record the run's end and verdict.

    Args:
        run: The run.
        verdict: Its verdict.
        error: What stopped it, if an infrastructure error did.
    """
    status = RunStatus.ERROR if verdict is Verdict.ERROR else RunStatus.COMPLETED
    open_store(run.store).finish_run(run.run_id, status=status, verdict=verdict, error=error)


@task(name="write-reports", cache_policy=NO_CACHE, persist_result=False)
def write_run_reports(run: RunRef) -> list[Path]:
    """Write report.json, report.html, results.csv and junit.xml from the store.

    Args:
        run: The run to report.
    """
    paths = write_reports(open_store(run.store), run.run_id, run.report_dir)
    get_run_logger().info("Reports written to %s", run.report_dir)
    return paths


@task(name="publish-artifacts", cache_policy=NO_CACHE, persist_result=False)
def publish_artifacts(run: RunRef, outcomes: list[CriterionOutcome], verdict: Verdict) -> None:
    """Show the criteria and the verdict as Prefect artifacts in the UI.

    Args:
        run: The run.
        outcomes: Its judged criteria.
        verdict: Its verdict.
    """
    create_table_artifact(
        key="vigil-criteria",
        table=[
            {
                "criterion": o.name,
                "status": o.status.value,
                "measured": o.measured,
                "threshold": f"{o.operator} {o.threshold:g} {o.unit}".strip(),
                "why": o.message,
            }
            for o in outcomes
        ],
        description=f"Success criteria of vigil run {run.run_id}",
    )
    create_markdown_artifact(
        key="vigil-verdict",
        markdown=(
            f"# vigil run `{run.run_id}`: **{verdict.value}**\n\n"
            f"Profile `{run.profile}`, seed {run.seed}. Reports: `{run.report_dir.resolve()}`."
        ),
        description="Verdict of the run",
    )
