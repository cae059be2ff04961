"""Steps of the criteria flow: judge, record the verdict, write and publish the reports."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from vigil import criteria as judging
from vigil.config import CriterionConfig
from vigil.criteria import CriterionOutcome, Judgement, Verdict
from vigil.report import write_reports
from vigil.report.markdown import criteria_rows, progress_percent, verdict_markdown
from vigil.results import SuiteResult
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
    """Show the criteria and the verdict on the criteria flow run's page.

    These carry no key: the keyed ``vigil-verdict`` and ``vigil-criteria`` artifacts are
    the validate run's own (:func:`publish_verdict`), so a key's latest version is always
    the one on the run a deployment or CI started.

    Args:
        run: The run.
        outcomes: Its judged criteria.
        verdict: Its verdict.
    """
    create_table_artifact(
        table=criteria_rows(outcomes),
        description=f"Success criteria of vigil run {run.run_id}",
    )
    create_markdown_artifact(
        markdown=(
            f"# vigil run `{run.run_id}`: **{verdict.value}**\n\n"
            f"Profile `{run.profile}`, seed {run.seed}. Reports: `{run.report_dir.resolve()}`."
        ),
        description="Verdict of the run",
    )


@task(name="start-progress", cache_policy=NO_CACHE, persist_result=False)
def start_progress(run: RunRef, suites: list[str]) -> UUID:
    """Create the run's progress artifact at 0 %: one step per suite, and one for judging.

    Args:
        run: The run.
        suites: The suites it will run, in order.
    """
    get_run_logger().info(
        "Run %s: %d suites to run (%s), then the criteria",
        run.run_id,
        len(suites),
        ", ".join(suites) or "none",
    )
    return create_progress_artifact(
        progress=0.0,
        key="vigil-progress",
        description=f"vigil run {run.run_id}: 0 of {len(suites)} suites done",
    )


@task(name="advance-progress", cache_policy=NO_CACHE, persist_result=False)
def advance_progress(
    artifact_id: UUID, run: RunRef, done: int, suites: list[str], result: object
) -> None:
    """Move the progress artifact on after a suite, and log the suite's outcome.

    The log line is what ``prefect deployment run --watch`` shows while the run goes on:
    the suites' own logs belong to their subflow runs, which the watcher does not follow.

    Args:
        artifact_id: The progress artifact (from :func:`start_progress`).
        run: The run.
        done: How many suites have finished.
        suites: Every suite of the run, in order.
        result: What the suite's flow returned (a SuiteResult, if it returned one).
    """
    name = suites[done - 1]
    if isinstance(result, SuiteResult):
        outcome = f"{result.status.value}, {len(result.checks)} checks"
    else:
        outcome = "finished"
    get_run_logger().info("Suite %s (%d/%d): %s", name, done, len(suites), outcome)
    update_progress_artifact(
        artifact_id,
        progress=progress_percent(done, len(suites) + 1),
        description=f"vigil run {run.run_id}: {done} of {len(suites)} suites done "
        f"(last: {name}, {outcome})",
    )


@task(name="publish-verdict", cache_policy=NO_CACHE, persist_result=False)
def publish_verdict(
    run: RunRef, judged: Judgement, message: str, progress_id: UUID | None = None
) -> None:
    """Attach the verdict to the validate run itself: summary, criteria table, report link.

    Args:
        run: The run.
        judged: Its verdict and criteria.
        message: The one-line reason for the verdict.
        progress_id: The run's progress artifact, completed here.
    """
    suites = [
        (s.suite, s.status.value, len(s.checks)) for s in open_store(run.store).suites(run.run_id)
    ]
    create_markdown_artifact(
        key="vigil-verdict",
        markdown=verdict_markdown(
            run_id=run.run_id,
            profile=run.profile,
            verdict=judged.verdict,
            message=message,
            outcomes=judged.outcomes,
            suites=suites,
            report_dir=run.report_dir,
        ),
        description=f"Verdict of vigil run {run.run_id}: {judged.verdict.value}",
    )
    create_table_artifact(
        key="vigil-criteria",
        table=criteria_rows(judged.outcomes),
        description=f"Success criteria of vigil run {run.run_id}",
    )
    html = (run.report_dir / "report.html").resolve()
    create_link_artifact(
        key="vigil-report",
        link=html.as_uri(),
        link_text=f"report.html of run {run.run_id}",
        description="The run's HTML report, on the machine that ran it",
    )
    if progress_id is not None:
        update_progress_artifact(
            progress_id,
            progress=100.0,
            description=f"vigil run {run.run_id}: done, verdict {judged.verdict.value}",
        )
    get_run_logger().info("Run %s: %s; report %s", run.run_id, message, html)
