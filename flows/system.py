"""The system part of the workflow suite: cross-component integration and the full cycle."""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.system import (
    check_config_shows_in_health,
    check_feedback_reaches_model,
    check_incident_reaches_metrics,
    check_no_resource_leak,
    check_quality_reaches_evaluation,
    judge_system_cycle,
    run_system_cycle,
)
from vigil.config_base import Capability
from vigil.errors import FaultRollbackError
from vigil.faults.base import roll_back_all
from vigil.results import SuiteResult, utc_now
from vigil.run import SuiteRun
from vigil.system.checks import system_measurements
from vigil.system.settings import SystemPartConfig

_CYCLE_NEEDS = frozenset(
    {Capability.PREDICT, Capability.FEEDBACK, Capability.EVALUATION, Capability.HEALTH}
)


def _roll_back_everything(*_: Any) -> None:
    """Prefect hook (cancelled or crashed flow): no fault may outlive the run."""
    problems = roll_back_all()
    if problems:
        raise FaultRollbackError("; ".join(problems))


@flow(name="system", on_cancellation=[_roll_back_everything], on_crashed=[_roll_back_everything])
def system(run: SuiteRun, settings: SystemPartConfig) -> SuiteResult:
    """Check that each component's output reaches the next, then run one full cycle.

    Returns the part's checks and measures as a workflow result, not recorded (the
    workflow flow merges and records the parts).

    Args:
        run: The run and the started target's endpoint.
        settings: The part's settings: probes, tolerances, the stream and the cycle.
    """
    started = utc_now()
    endpoint = run.endpoint
    try:
        cross = [
            check_feedback_reaches_model(endpoint, settings, run.seed + 31),
            check_quality_reaches_evaluation(endpoint, settings, run.seed + 32),
            check_config_shows_in_health(endpoint, settings),
            check_no_resource_leak(endpoint, settings, run.seed + 33),
            # Last of the cross checks: the spike makes the target replace a worker.
            check_incident_reaches_metrics(endpoint, settings),
        ]
        seen = None
        if endpoint.capabilities >= _CYCLE_NEEDS:
            seen = run_system_cycle(endpoint, settings, run.seed + 34)
        cycle = judge_system_cycle(endpoint, seen, settings)
    finally:
        leftover = roll_back_all()
        if leftover:
            raise FaultRollbackError("; ".join(leftover))
    return SuiteResult(
        suite="workflow",
        checks=[*cross, cycle],
        measurements=system_measurements(cross, seen),
        started_at=started,
        finished_at=utc_now(),
    )
