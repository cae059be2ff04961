"""The recovery part of the workflow suite: error -> diagnosis -> recovery -> improvement."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from tasks.recovery import (
    check_steady_state,
    close_experiment,
    count_lost_feedback,
    inject_fault,
    load_scenario,
    measure_evaluation,
    observe_fault,
    open_experiment,
    record_injection,
    roll_back_fault,
    start_traffic,
    verify_recovery,
)
from vigil.config import Capability
from vigil.errors import FaultRollbackError, TargetUnavailableError
from vigil.faults.base import roll_back_all
from vigil.faults.config import RecoveryPartConfig
from vigil.faults.experiment import capability_needed
from vigil.faults.judgement import judge_recovery
from vigil.faults.signals import rollback_on_signals
from vigil.results import SuiteResult, utc_now
from vigil.run import SuiteRun


def _roll_back_everything(*_: Any) -> None:
    """Prefect hook (cancelled or crashed flow): no fault may outlive the run."""
    problems = roll_back_all()
    if problems:
        raise FaultRollbackError("; ".join(problems))


@flow(
    name="recovery",
    on_cancellation=[_roll_back_everything],
    on_crashed=[_roll_back_everything],
)
def recovery(run: SuiteRun, settings: RecoveryPartConfig) -> SuiteResult:
    """Inject the scenario's faults one by one and judge how the target heals (not recorded).

    Args:
        run: The run and the started target's endpoint.
        settings: The part's settings: scenario, settle time, maximum fault duration,
            probe interval and the MTTR counted for a fault the target did not heal.
    """
    logger = get_run_logger()
    started = utc_now()
    scenario = load_scenario(settings.scenario)
    capabilities = run.endpoint.capabilities
    applicable = [s for s in scenario.faults if capability_needed(s.fault) in (None, *capabilities)]
    skipped = [s.fault.name for s in scenario.faults if s not in applicable]
    timelines = []
    problems: list[str] = []
    injection_errors: list[str] = []
    before = after = None
    lost: tuple[int | None, str] = (None, "not measured")
    with rollback_on_signals():
        session = open_experiment(run, settings, scenario)
        try:
            before = measure_evaluation(session, run.seed + 1)
            start_traffic(session)
            for scheduled in applicable:
                steady = check_steady_state(session, settings.steady_state)
                if not steady.ok:
                    problems.append(
                        f"steady state missing before {scheduled.fault.name}: {steady.detail}"
                    )
                    break
                try:
                    fault = inject_fault(session, scheduled.fault)
                except TargetUnavailableError as exc:
                    injection_errors.append(f"{scheduled.fault.name}: {exc}")
                    continue
                try:
                    observation = observe_fault(session, fault)
                finally:
                    roll_back_fault(fault)
                timeline = verify_recovery(session, fault, observation)
                record_injection(run, timeline)
                timelines.append(timeline)
            lost = count_lost_feedback(session)
            after = measure_evaluation(session, run.seed + 2)
        finally:
            close_experiment(session)
            leftover = session.roll_back_remaining()
            if leftover:
                raise FaultRollbackError("; ".join(leftover))
    if skipped:
        logger.info("Not applicable to this target: %s", ", ".join(skipped))
    result = judge_recovery(
        timelines,
        settings,
        scenario=scenario.name,
        lost=lost,
        before=before,
        after=after,
        problems=problems,
        injection_errors=injection_errors,
        skipped=skipped,
        incidents_offered=Capability.INCIDENTS in capabilities,
    )
    return result.model_copy(update={"started_at": started, "finished_at": utc_now()})
