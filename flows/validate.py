"""The validate flow: start the target, run the profile's suites, judge, report, stop.

The flow's final state follows the verdict: ``Completed`` only when the run passed,
``Failed`` (with a message naming the verdict and the criteria that did not pass)
when it failed, was incomplete or hit an infrastructure error -- so that
``prefect deployment run 'validate/...' --watch`` gates CI as ``vigil validate`` does.

The validate run itself carries the verdict (markdown summary, criteria table, a link to
``report.html``) and a progress artifact that advances after each suite; the suites'
subflow runs keep their own tables.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.states import Failed, State
from pydantic import BaseModel

from flows.criteria import criteria
from tasks.bookkeeping import begin_run, mark_run_interrupted, revert_abandoned_faults
from tasks.criteria import advance_progress, publish_verdict, start_progress
from tasks.secrets import resolve_secrets
from tasks.target import prune_target_folders, start_target, stop_target
from vigil.config import VigilConfig, load_config
from vigil.criteria import Verdict, verdict_message
from vigil.errors import RunError
from vigil.run import RunRef, SuiteRun, new_run_id
from vigil.suites import check_suite_names, get_suite


class RunSummary(BaseModel):
    """What `validate` returns: enough for the CLI to print and choose an exit code."""

    run_id: str
    verdict: Verdict
    report_dir: Path
    message: str


@flow(name="validate")
def validate(
    profile: str = "development",
    config_path: str | None = None,
    report_dir: str | None = None,
    suites: list[str] | None = None,
    config: VigilConfig | None = None,
) -> RunSummary | State:
    """Validate the target: run the profile's suites, judge the success criteria, write reports.

    Args:
        profile: Configuration profile: development, staging, production, or one of vigil.yaml's.
        config_path: Path of vigil.yaml; default ./vigil.yaml if present, else built-in settings.
        report_dir: Folder for reports (a run writes <report_dir>/<run-id>/); default from config.
        suites: Run only these suites (default: every suite the profile enables).
        config: An already validated configuration (the CLI passes the one it checked);
            when given, profile and config_path are not read again.
    """
    logger = get_run_logger()
    if config is None:
        config = load_config(config_path, profile)
    config = resolve_secrets(config)
    chosen = check_suite_names(suites) if suites is not None else config.suites.enabled()
    run_id = new_run_id()
    base_dir = Path(report_dir) if report_dir else config.reports.dir
    run = RunRef(
        run_id=run_id,
        profile=config.profile,
        seed=config.seed,
        store=config.store,
        report_dir=base_dir / run_id,
    )
    begin_run(run, config)
    logger.info("Run %s: profile %s, suites %s", run_id, config.profile, ", ".join(chosen))

    error: str | None = None
    target = None
    progress = start_progress(run, chosen)
    try:
        revert_abandoned_faults(run)
        prune_target_folders(run, config.work_dir, config.keep_target_dirs)
        target = start_target(config.target, config.work_dir / "targets" / run_id)
        suite_run = SuiteRun(
            **run.model_dump(),
            endpoint=target.endpoint,
            datasets=config.suites.data.datasets(),
        )
        for done, name in enumerate(chosen, start=1):
            result = get_suite(name).load_flow()(suite_run, getattr(config.suites, name))
            advance_progress(progress, run, done, chosen, result)
    except RunError as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.error("Run %s stopped by an infrastructure error: %s", run_id, error)
    except BaseException as exc:
        # The engine is being torn down (Ctrl-C, cancellation): no new task run can be
        # scheduled, so the bookkeeping step's own code runs directly.
        mark_run_interrupted.fn(run, f"interrupted: {exc!r}")
        raise
    finally:
        if target is not None:
            try:
                stop_target(target)
            finally:
                target.stop()  # idempotent; stops it even when the task could not run

    judged = criteria(run, config.criteria, error)
    message = verdict_message(judged.verdict, judged.outcomes, error)
    publish_verdict(run, judged, message, progress)
    summary = RunSummary(
        run_id=run_id, verdict=judged.verdict, report_dir=run.report_dir, message=message
    )
    logger.info("Run %s: %s; reports in %s", run_id, message, run.report_dir)
    if judged.verdict is Verdict.PASSED:
        return summary
    return Failed(message=message, data=summary)
