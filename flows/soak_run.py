"""The soak's entry point: what `vigil soak` and the weekly soak deployment run.

It loads the configuration, records (or reopens, for the same soak id) the run, starts
the target, runs the soak suite's flow, stops the target and records the verdict. Run
again with the same ``soak_id`` -- from the CLI or as a new run of the deployment -- the
soak resumes at its last checkpoint. The flow run ends ``Failed`` unless the soak passed.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.states import Failed, State

from tasks.bookkeeping import revert_abandoned_faults
from tasks.secrets import resolve_secrets
from tasks.soak import close_soak_run, open_soak_run
from tasks.target import prune_target_folders, start_target, stop_target
from vigil.config import VigilConfig, load_config
from vigil.criteria import Verdict
from vigil.results import Status, SuiteResult, utc_now
from vigil.run import RunRef, SuiteRun, new_run_id
from vigil.soak.config import SoakSuiteConfig
from vigil.soak.heap import forget_vigil_only_allocator


def default_soak_id() -> str:
    """The id of a soak started without one: inside a flow run, derived from that flow run.

    A scheduled run of the weekly deployment has no ``soak_id``; its soak is named after the
    flow run (its expected start and the first hex digits of its id), so retrying that flow run
    -- Prefect's retries, or *Retry* on the crashed run in the UI -- resumes the same soak.
    Outside a flow run, a fresh run id.
    """
    context = FlowRunContext.get()
    flow_run = context.flow_run if context is not None else None
    if flow_run is None:
        return new_run_id()
    moment = (flow_run.expected_start_time or flow_run.created or utc_now()).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S}-{flow_run.id.hex[:6]}"


@flow(name="soak-run")
def soak_run(
    profile: str = "production",
    soak_id: str | None = None,
    duration_s: float | None = None,
    config_path: str | None = None,
    config: VigilConfig | None = None,
) -> SuiteResult | State:
    """Soak the target for the profile's duration, resumable by soak id.

    Args:
        profile: Configuration profile (production: 72 hours in 10-minute cycles).
        soak_id: Resume this soak (its completed cycles are kept); default: a new soak named
            after this flow run (:func:`default_soak_id`), which a retry of the run resumes.
        duration_s: Soak this long instead of the profile's duration.
        config_path: Path of vigil.yaml; default ./vigil.yaml if present, else built-in settings.
        config: An already validated configuration (the CLI passes the one it checked).
    """
    # The deployment's allocator settings are for this process, not for the target it starts.
    forget_vigil_only_allocator()
    if config is None:
        config = load_config(config_path, profile)
    config = resolve_secrets(config)
    settings: SoakSuiteConfig = config.suites.soak
    if duration_s is not None:
        settings = SoakSuiteConfig.model_validate(
            {**settings.model_dump(), "duration_s": duration_s}
        )
    run_id = soak_id or default_soak_id()
    run = RunRef(
        run_id=run_id,
        profile=config.profile,
        seed=config.seed,
        store=config.store,
        report_dir=Path(config.reports.dir) / run_id,
    )
    open_soak_run(run, config)
    target = None
    try:
        revert_abandoned_faults(run)
        prune_target_folders(run, config.work_dir, config.keep_target_dirs)
        target = start_target(config.target, config.work_dir / "targets" / run_id)
        suite_run = SuiteRun(
            **run.model_dump(), endpoint=target.endpoint, datasets=config.suites.data.datasets()
        )
        from flows.soak import soak

        result = soak(suite_run, settings)
    except BaseException as exc:
        # Cut short (a crash, Ctrl-C, cancellation): the run stays resumable by its id.
        close_soak_run.fn(run, None, f"interrupted: {exc!r}; resume with soak_id={run_id}")
        raise
    finally:
        if target is not None:
            try:
                stop_target(target)
            finally:
                target.stop()
    passed = result.status is Status.PASSED
    close_soak_run(run, Verdict.PASSED if passed else Verdict.FAILED)
    get_run_logger().info("Soak %s: %s", run_id, result.status)
    if passed:
        return result
    failed = [c.name for c in result.checks if c.counts_as_failure]
    return Failed(message=f"soak {run_id} failed: {', '.join(failed)}", data=result)
