"""Steps that write the run's record: the run itself, suite results, the verdict."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from vigil.config import VigilConfig
from vigil.results import SuiteResult
from vigil.run import RunRef
from vigil.store import RunStatus, open_store
from vigil.suites import conform_measurements


@task(name="begin-run", cache_policy=NO_CACHE, persist_result=False)
def begin_run(run: RunRef, config: VigilConfig) -> None:
    """Record the run as running in vigil's store.

    Args:
        run: The run being started.
        config: Its merged configuration (recorded with the run; holds no secret values).
    """
    store = open_store(run.store)
    reaped = store.reap_abandoned()
    if reaped:
        get_run_logger().warning("Marked %d abandoned run(s) incomplete: %s", len(reaped), reaped)
    store.begin_run(
        run.run_id,
        profile=run.profile,
        seed=run.seed,
        config=config.model_dump(mode="json"),
        target_name=config.target.name,
        report_dir=str(run.report_dir),
        flow_run_id=str(flow_run.get_id() or "") or None,
    )


@task(name="record-suite-result", cache_policy=NO_CACHE, persist_result=False, retries=2)
def record_suite_result(run: RunRef, result: SuiteResult) -> None:
    """Write a suite's checks and measurements to the store in one transaction.

    Args:
        run: The run the suite belongs to.
        result: The suite's result.
    """
    result = conform_measurements(result)
    open_store(run.store).record_suite(run.run_id, result)
    rate = result.pass_rate
    get_run_logger().info(
        "Suite %s: %s (%s of checks passed)",
        result.suite,
        result.status.value,
        "n/a" if rate is None else f"{rate:.0%}",
    )


@task(name="mark-run-interrupted", cache_policy=NO_CACHE, persist_result=False)
def mark_run_interrupted(run: RunRef, reason: str) -> None:
    """Record that the run was cut short (Ctrl-C, SIGTERM, cancellation): incomplete, no verdict.

    Args:
        run: The run.
        reason: What interrupted it.
    """
    open_store(run.store).finish_run(
        run.run_id, status=RunStatus.INCOMPLETE, verdict=None, error=reason
    )


@task(name="revert-abandoned-faults", cache_policy=NO_CACHE, persist_result=False)
def revert_abandoned_faults(run: RunRef) -> list[str]:
    """Revert every fault a vigil process that died left active (from the store's journal).

    Args:
        run: The run about to start (its store holds the journal).

    Raises:
        FaultRollbackError: a fault could not be reverted; the run must not go on.
    """
    from vigil.faults import revert_journalled_faults

    reverted = revert_journalled_faults(open_store(run.store))
    for line in reverted:
        get_run_logger().warning("Reverted a fault left by an earlier vigil: %s", line)
    return reverted
