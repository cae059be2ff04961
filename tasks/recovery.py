"""Steps of the recovery part: steady state, inject, observe, roll back, verify."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from vigil.errors import TargetUnavailableError
from vigil.faults import experiment
from vigil.faults.base import ActiveFault, FaultContext
from vigil.faults.config import FaultConfig, RecoveryPartConfig, ScenarioConfig, SteadyStateConfig
from vigil.faults.experiment import (
    EvaluationLevel,
    ExperimentSession,
    Observation,
    SteadyState,
)
from vigil.faults.timeline import InjectionTimeline
from vigil.run import SuiteRun
from vigil.store import open_store
from vigil.targets import running_target


@task(name="load-scenario", cache_policy=NO_CACHE)
def load_scenario(name_or_path: str) -> ScenarioConfig:
    """Read and validate the scenario.

    Args:
        name_or_path: A built-in scenario's name or a scenario file's path.
    """
    return experiment.load_scenario(name_or_path)


@task(name="open-experiment", cache_policy=NO_CACHE, persist_result=False)
def open_experiment(
    run: SuiteRun, settings: RecoveryPartConfig, scenario: ScenarioConfig
) -> ExperimentSession:
    """Start the probe stream; the fault context gets the live target adapter when there is one.

    Args:
        run: The run and the started target's endpoint.
        settings: The part's settings.
        scenario: The scenario (its background traffic).
    """
    try:
        target = running_target(run.endpoint)
    except TargetUnavailableError as exc:
        get_run_logger().warning("%s; process and container faults will not apply", exc)
        target = None
    context = FaultContext(
        endpoint=run.endpoint, target=target, store=open_store(run.store), run_id=run.run_id
    )
    session = ExperimentSession(context, settings, scenario.traffic, seed=run.seed + 9)
    session.probes.start()
    return session


@task(name="measure-evaluation", cache_policy=NO_CACHE, persist_result=False)
def measure_evaluation(session: ExperimentSession, seed: int) -> EvaluationLevel:
    """Send labelled rows and read the target's accuracy over them.

    Args:
        session: The running experiment.
        seed: Seed of the rows.
    """
    return experiment.measure_evaluation(session.endpoint, seed, session.settings.evaluation_rows)


@task(name="start-traffic", cache_policy=NO_CACHE, persist_result=False)
def start_traffic(session: ExperimentSession) -> None:
    """Note the feedback count and start the background traffic.

    Args:
        session: The running experiment.
    """
    session.start_traffic()


@task(name="check-steady-state", cache_policy=NO_CACHE, persist_result=False)
def check_steady_state(session: ExperimentSession, config: SteadyStateConfig) -> SteadyState:
    """Check the steady-state hypothesis (retrying until the recovery timeout).

    Args:
        session: The running experiment.
        config: The window and tolerances.
    """
    state = experiment.wait_for_steady_state(session, config, session.context.recovery_timeout_s)
    get_run_logger().info("Steady state %s: %s", "holds" if state.ok else "MISSING", state.detail)
    return state


@task(name="inject-fault", cache_policy=NO_CACHE, persist_result=False)
def inject_fault(session: ExperimentSession, fault: FaultConfig) -> ActiveFault:
    """Inject one fault (journalled, with its timer).

    Args:
        session: The running experiment.
        fault: The fault.
    """
    handle = experiment.inject_fault(session, fault)
    get_run_logger().info("Injected %s (%s) at %s", handle.name, handle.kind, handle.injected_at)
    return handle


@task(name="observe-fault", cache_policy=NO_CACHE, persist_result=False)
def observe_fault(session: ExperimentSession, fault: ActiveFault) -> Observation:
    """Prove the fault took effect and wait for the target to heal (bounded).

    Args:
        session: The running experiment.
        fault: The injected fault.
    """
    observation = experiment.observe_fault(session, fault)
    get_run_logger().info(
        "%s: effect %s (%s); %s after %.1f s",
        fault.name,
        "proven" if observation.effect_proven else "NOT proven",
        observation.effect_detail,
        "healed" if observation.healed_before_rollback else "not healed",
        observation.observed_s,
    )
    return observation


@task(name="roll-back-fault", cache_policy=NO_CACHE, persist_result=False)
def roll_back_fault(fault: ActiveFault) -> bool:
    """Roll the fault back (a no-op when the target healed already).

    Args:
        fault: The injected fault.
    """
    acted = experiment.roll_back_fault(fault)
    get_run_logger().info("%s rolled back (%s)", fault.name, "acted" if acted else "nothing left")
    return acted


@task(name="verify-recovery", cache_policy=NO_CACHE, persist_result=False)
def verify_recovery(
    session: ExperimentSession, fault: ActiveFault, observation: Observation
) -> InjectionTimeline:
    """Check the steady state is back, read the target's incidents, build the timeline.

    Args:
        session: The running experiment.
        fault: The rolled-back fault.
        observation: What observe_fault saw.
    """
    timeline = experiment.verify_recovery(session, fault, observation)
    get_run_logger().info(
        "%s: detected %s by %s as %s; recovered %s (self-healed: %s)",
        timeline.fault,
        timeline.detected_at,
        timeline.detected_by,
        timeline.diagnosed_kind,
        timeline.recovered_at or timeline.recovered_after_rollback_at,
        timeline.self_healed,
    )
    return timeline


@task(name="record-injection", cache_policy=NO_CACHE, persist_result=False, retries=2)
def record_injection(run: SuiteRun, timeline: InjectionTimeline) -> None:
    """Write the injection's timeline to vigil's store.

    Args:
        run: The run.
        timeline: The injection's timeline.
    """
    experiment.record_injection(open_store(run.store), run.run_id, timeline)


@task(name="count-lost-feedback", cache_policy=NO_CACHE, persist_result=False)
def count_lost_feedback(session: ExperimentSession) -> tuple[int | None, str]:
    """Stop the traffic and count acknowledged labels the target no longer counts.

    Args:
        session: The running experiment.
    """
    return experiment.count_lost_feedback(session)


@task(name="close-experiment", cache_policy=NO_CACHE, persist_result=False)
def close_experiment(session: ExperimentSession) -> None:
    """Stop the traffic and the probes.

    Args:
        session: The running experiment.
    """
    session.close()
