"""The validate flow: start the target, run the profile's suites, judge, report, stop."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from pydantic import BaseModel

from flows.criteria import criteria
from flows.data import data
from flows.integration import integration
from tasks.bookkeeping import begin_run
from tasks.target import start_target, stop_target
from vigil.config import VigilConfig, load_config
from vigil.criteria import Verdict
from vigil.errors import ConfigError, RunError
from vigil.run import RunRef, SuiteRun, new_run_id
from vigil.store import RunStatus, open_store

SUITE_FLOWS = {"data": data, "integration": integration}
"""Suite name -> its flow, in the order suites run."""


class RunSummary(BaseModel):
    """What `validate` returns: enough for the CLI to print and choose an exit code."""

    run_id: str
    verdict: Verdict
    report_dir: Path


def _settings_of(config: VigilConfig, suite: str) -> BaseModel:
    """The settings a suite's flow takes: the datasets for `data`, else its own section."""
    return config.data if suite == "data" else getattr(config.suites, suite)


@flow(name="validate")
def validate(
    profile: str = "development",
    config_path: str | None = None,
    report_dir: str | None = None,
    suites: list[str] | None = None,
) -> RunSummary:
    """Validate the target: run the profile's suites, judge the success criteria, write reports.

    Args:
        profile: Configuration profile: development, staging, production, or one of vigil.yaml's.
        config_path: Path of vigil.yaml; default ./vigil.yaml if present, else built-in settings.
        report_dir: Folder for reports (a run writes <report_dir>/<run-id>/); default from config.
        suites: Run only these suites (default: every suite the profile enables).
    """
    logger = get_run_logger()
    config = load_config(config_path, profile)
    chosen = suites if suites is not None else config.suites.enabled()
    unknown = [s for s in chosen if s not in SUITE_FLOWS]
    if unknown:
        raise ConfigError(
            f"unknown suite(s) {', '.join(unknown)}; available: {', '.join(SUITE_FLOWS)}"
        )
    run_id = new_run_id()
    base_dir = Path(report_dir) if report_dir else config.reports.dir
    run = RunRef(
        run_id=run_id,
        profile=profile,
        seed=config.seed,
        store=config.store,
        report_dir=base_dir / run_id,
    )
    begin_run(run, config)
    logger.info("Run %s: profile %s, suites %s", run_id, profile, ", ".join(chosen) or "none")

    error: str | None = None
    target = None
    try:
        target = start_target(config.target, config.work_dir / "targets" / run_id)
        suite_run = SuiteRun(**run.model_dump(), endpoint=target.endpoint, datasets=config.data)
        for name in chosen:
            SUITE_FLOWS[name](suite_run, _settings_of(config, name))
    except RunError as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.error("Run %s stopped by an infrastructure error: %s", run_id, error)
    except BaseException as exc:
        open_store(run.store).finish_run(
            run_id, status=RunStatus.INCOMPLETE, verdict=None, error=f"interrupted: {exc!r}"
        )
        raise
    finally:
        if target is not None:
            try:
                stop_target(target)
            finally:
                target.stop()  # idempotent; stops it even when the task could not run

    decided = criteria(run, config.criteria, error)
    logger.info("Run %s: verdict %s; reports in %s", run_id, decided.value, run.report_dir)
    return RunSummary(run_id=run_id, verdict=decided, report_dir=run.report_dir)
