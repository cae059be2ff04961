"""Steps of the soak: resume from the checkpoint, drive a cycle, check, checkpoint, judge."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from tasks.bookkeeping import record_suite_result
from vigil.config import VigilConfig
from vigil.config_base import Capability
from vigil.criteria import Verdict
from vigil.results import CheckResult, Status, SuiteResult, utc_now
from vigil.run import RunRef, SuiteRun
from vigil.soak import SOAK_MEASURES
from vigil.soak.config import SoakSuiteConfig
from vigil.soak.cycle import (
    CycleFaultPlan,
    CycleTraffic,
    QualityCheck,
    ResourceSample,
    check_learning,
    check_patterns,
    drive_cycle,
    resources_unseen,
    sample_self,
    sample_target,
)
from vigil.soak.faults import FaultProcess, InjectedFault, WorkerHang, is_stopped, revert_stopped
from vigil.soak.judge import CycleFigures, FaultEntry, judge_soak, progress_line
from vigil.soak.series import SoakSeries
from vigil.store import RunStatus, SoakCheckpoints, SoakStatus, open_store
from vigil.suites import SUITES


class SoakStart(BaseModel):
    """Where a (possibly resumed) soak starts."""

    soak_id: str
    started_at: datetime
    next_cycle: int
    attempts: int
    series: dict
    reverted_pids: list[int]


def _checkpoints(run: SuiteRun) -> SoakCheckpoints:
    return SoakCheckpoints(open_store(run.store))


@task(name="resume-soak", cache_policy=NO_CACHE, persist_result=False)
def resume_soak(run: SuiteRun, settings: SoakSuiteConfig) -> SoakStart:
    """Record the soak or pick it up at its last checkpoint, reverting faults left active.

    Args:
        run: The run; its id is the soak id.
        settings: The soak's settings.
    """
    logger = get_run_logger()
    checkpoints = _checkpoints(run)
    record = checkpoints.begin_or_resume(
        run.run_id,
        run_id=run.run_id,
        profile=run.profile,
        config=settings.model_dump(mode="json"),
        planned_cycles=settings.planned_cycles,
    )
    reverted = revert_journal(run, "resume")
    done = [c.cycle for c in checkpoints.cycles(run.run_id)]
    next_cycle = max(done, default=0) + 1
    if record.attempts > 1:
        logger.warning(
            "Resuming soak %s (attempt %d) at cycle %d of %d; reverted stopped pids: %s",
            run.run_id,
            record.attempts,
            next_cycle,
            settings.planned_cycles,
            reverted or "none",
        )
    return SoakStart(
        soak_id=run.run_id,
        started_at=record.started_at,
        next_cycle=next_cycle,
        attempts=record.attempts,
        series=record.series or {},
        reverted_pids=reverted,
    )


def revert_journal(run: SuiteRun, by: str) -> list[int]:
    """Resume every still-stopped process of a journalled, unreverted fault; close the entries."""
    checkpoints = _checkpoints(run)
    resumed: list[int] = []
    for entry in checkpoints.faults(run.run_id, active_only=True):
        processes = [FaultProcess.model_validate(p) for p in entry.processes]
        resumed += revert_stopped(processes)
        checkpoints.close_fault(int(entry.id or 0), by)
    return resumed


@task(name="drive-cycle", cache_policy=NO_CACHE, persist_result=False)
def run_cycle(run: SuiteRun, settings: SoakSuiteConfig, cycle: int) -> CycleTraffic:
    """Run one cycle: bounded load with probes, and its fault if one is due.

    Args:
        run: The run and the started target.
        settings: The soak's settings.
        cycle: The cycle's number (from 1).
    """
    every = settings.fault.every_cycles
    due = every > 0 and cycle % every == 0
    plan = None
    if due and Capability.PROCESS_CONTROL in run.endpoint.capabilities:
        checkpoints = _checkpoints(run)
        journal_ids: list[int] = []

        def journal(fault: InjectedFault) -> None:
            journal_ids.append(
                checkpoints.open_fault(
                    run.run_id,
                    cycle,
                    kind=fault.kind,
                    processes=[p.model_dump() for p in fault.processes],
                    started_at=fault.started_at,
                    expires_at=fault.expires_at,
                )
            )

        def reverted() -> None:
            for journal_id in journal_ids:
                checkpoints.close_fault(journal_id, "rollback")

        plan = CycleFaultPlan(
            fault=WorkerHang(run.endpoint, settings.fault.max_duration_s, worker_index=cycle),
            delay_s=settings.fault.delay_s,
            hold_s=settings.fault.max_duration_s,
            settle_s=settings.fault.settle_s,
            journal=journal,
            on_reverted=reverted,
        )
    return drive_cycle(run.endpoint, settings, run.seed + cycle, plan)


@task(name="check-learning", cache_policy=NO_CACHE, persist_result=False)
def check_cycle_learning(
    run: SuiteRun, settings: SoakSuiteConfig, cycle: int
) -> QualityCheck | None:
    """A few labelled predictions and the evaluation: is the target still learning?

    Args:
        run: The run and the started target.
        settings: The soak's settings.
        cycle: The cycle's number (seeds its rows).
    """
    caps = run.endpoint.capabilities
    if settings.learning_rows == 0 or Capability.FEEDBACK not in caps:
        return None
    return check_learning(
        run.endpoint, settings.learning_rows, run.seed * 1000 + cycle, settings.request_timeout_s
    )


@task(name="check-patterns", cache_policy=NO_CACHE, persist_result=False)
def check_cycle_patterns(run: SuiteRun, settings: SoakSuiteConfig, cycle: int) -> str | None:
    """One small synthetic series to /patterns/analyze; returns the problem, if any.

    Args:
        run: The run and the started target.
        settings: The soak's settings.
        cycle: The cycle's number (varies the series).
    """
    if not settings.pattern_check or Capability.PATTERNS not in run.endpoint.capabilities:
        return None
    return check_patterns(run.endpoint, cycle, settings.request_timeout_s)


@task(name="sample-resources", cache_policy=NO_CACHE, persist_result=False)
def sample_resources(run: SuiteRun) -> tuple[ResourceSample, ResourceSample]:
    """RSS and open files of the target's process tree and of vigil itself.

    Args:
        run: The run and the started target.
    """
    return sample_target(run.endpoint), sample_self()


@task(name="checkpoint-cycle", cache_policy=NO_CACHE, persist_result=False, retries=2)
def checkpoint_cycle(
    run: SuiteRun, figures: CycleFigures, histogram: str, series: SoakSeries
) -> None:
    """Write the completed cycle and the soak's series to the store, in one transaction.

    Args:
        run: The run; its id is the soak id.
        figures: The cycle's figures.
        histogram: The cycle's encoded latency histogram.
        series: The soak's tiered series, this cycle's points included.
    """
    _checkpoints(run).record_cycle(
        run.run_id,
        figures.cycle,
        figures=figures.model_dump(mode="json"),
        histogram=histogram,
        started_at=figures.started_at,
        finished_at=figures.finished_at,
        series=series.snapshot(),
    )


@task(name="report-progress", cache_policy=NO_CACHE, persist_result=False)
def report_progress(
    run: SuiteRun,
    settings: SoakSuiteConfig,
    started_at: datetime,
    figures: CycleFigures,
    artifact_id: UUID | None,
) -> UUID:
    """Log the soak's progress and update its progress and figures artifacts.

    Args:
        run: The run; its id is the soak id.
        settings: The soak's settings.
        started_at: When the soak first began.
        figures: The cycle just completed.
        artifact_id: The progress artifact made by an earlier cycle of this flow run.
    """
    line = progress_line(settings, started_at, utc_now(), figures)
    get_run_logger().info("%s", line)
    percent = min(100.0, 100.0 * figures.cycle / settings.planned_cycles)
    key = f"soak-{run.run_id.lower()}"
    if artifact_id is None:
        artifact_id = create_progress_artifact(percent, key=key, description=line)
    else:
        update_progress_artifact(artifact_id, percent, description=line)
    create_markdown_artifact(
        f"**{line}**", key=f"{key}-figures", description="Latest soak cycle's figures"
    )
    return artifact_id


@task(name="judge-soak", cache_policy=NO_CACHE, persist_result=False)
def judge_soak_result(
    run: SuiteRun, settings: SoakSuiteConfig, started_at: datetime, error: str | None
) -> SuiteResult:
    """Judge every checkpointed cycle of the soak into the suite's result.

    Args:
        run: The run; its id is the soak id.
        settings: The soak's settings.
        started_at: When the soak first began.
        error: Why the cycles stopped early, if they did.
    """
    checkpoints = _checkpoints(run)
    records = checkpoints.cycles(run.run_id)
    cycles = [CycleFigures.model_validate(r.figures) for r in records]
    faults = [
        FaultEntry(
            cycle=f.cycle,
            kind=f.kind,
            reverted=f.reverted_at is not None,
            still_stopped=[
                p["pid"] for p in f.processes if is_stopped(FaultProcess.model_validate(p))
            ],
        )
        for f in checkpoints.faults(run.run_id)
    ]
    checks, measurements = judge_soak(
        settings,
        started_at,
        cycles,
        [r.histogram for r in records],
        faults,
        resources_unseen=resources_unseen(run.endpoint),
    )
    if error is not None or len(cycles) < settings.planned_cycles:
        checks.append(
            CheckResult(
                name="every_cycle_completed",
                status=Status.ERROR if error else Status.FAILED,
                message=f"{len(cycles)} of {settings.planned_cycles} cycles completed"
                + (f": {error}" if error else ""),
                measured={"cycles": float(len(cycles))},
            )
        )
    return SuiteResult(
        suite="soak", checks=checks, measurements=measurements, started_at=started_at
    )


@task(name="record-soak-result", cache_policy=NO_CACHE, persist_result=False, retries=2)
def record_soak_result(run: SuiteRun, result: SuiteResult) -> None:
    """Write the soak's result to the store (through the registry once the soak is in it).

    Args:
        run: The run.
        result: The soak's result.
    """
    if "soak" in SUITES:
        record_suite_result.fn(run, result)
        return
    # Until the soak is registered its units come from its own table of measures.
    units = {name: unit for name, unit, _ in SOAK_MEASURES}
    result = result.model_copy(
        update={
            "measurements": [
                m.model_copy(update={"unit": units[m.name]}) for m in result.measurements
            ]
        }
    )
    open_store(run.store).record_suite(run.run_id, result)
    get_run_logger().info("Suite soak: %s", result.status.value)


@task(name="finish-soak", cache_policy=NO_CACHE, persist_result=False)
def finish_soak(run: SuiteRun, status: SoakStatus) -> None:
    """Mark the soak completed or interrupted in the store.

    Args:
        run: The run; its id is the soak id.
        status: How it ended.
    """
    _checkpoints(run).finish(run.run_id, status)


@task(name="open-soak-run", cache_policy=NO_CACHE, persist_result=False)
def open_soak_run(run: RunRef, config: VigilConfig) -> bool:
    """Record the soak's run in the store: a new run, or the same id reopened to resume it.

    Args:
        run: The soak's run (its id is the soak id).
        config: The merged configuration, recorded with a new run.

    Returns:
        Whether an earlier attempt of this soak was found (the soak resumes it).
    """
    store = open_store(run.store)
    store.reap_abandoned()
    checkpoints = SoakCheckpoints(store)
    if checkpoints.get(run.run_id) is not None:
        checkpoints.reopen_run(run.run_id)
        get_run_logger().info("Soak %s: resuming at its last checkpoint", run.run_id)
        return True
    store.begin_run(
        run.run_id,
        profile=run.profile,
        seed=run.seed,
        config=config.model_dump(mode="json"),
        target_name=config.target.name,
        report_dir=str(run.report_dir),
    )
    get_run_logger().info("Soak %s: started; resume it with soak_id=%s", run.run_id, run.run_id)
    return False


@task(name="close-soak-run", cache_policy=NO_CACHE, persist_result=False)
def close_soak_run(run: RunRef, verdict: Verdict | None, error: str | None = None) -> None:
    """Record the soak run's end: its verdict, or incomplete (resumable) without one.

    Args:
        run: The soak's run.
        verdict: passed or failed; None when the soak was cut short.
        error: Why it was cut short.
    """
    status = RunStatus.COMPLETED if verdict is not None else RunStatus.INCOMPLETE
    open_store(run.store).finish_run(run.run_id, status=status, verdict=verdict, error=error)
