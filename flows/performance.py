"""The performance suite: baseline, the user profiles at 1000 users, stress, resources."""

from __future__ import annotations

import time

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from flows.load_shards import sharded_load_flow
from tasks.bookkeeping import record_suite_result
from tasks.performance import (
    probe_model_updates,
    record_evidence,
    run_load_shard,
    scrape_target_metrics,
    start_resource_sampler,
    step_timeout_seconds,
    stop_resource_sampler,
)
from vigil import performance as perf
from vigil.config import Capability
from vigil.load import LoadResult
from vigil.performance import LoadStepPlan, PerformanceSuiteConfig, StepOutcome
from vigil.results import SuiteResult, utc_now
from vigil.run import SuiteRun
from vigil.targets.base import TargetEndpoint


def _run_step(
    endpoint: TargetEndpoint, plan: LoadStepPlan, settings: PerformanceSuiteConfig
) -> StepOutcome:
    """One step: sample resources and scrape the target's metrics around its load."""
    sampler = start_resource_sampler(endpoint, settings.resources)
    before = scrape_target_metrics(endpoint)
    shards: list[dict[str, LoadResult]] = []
    problem = None
    # A step of fewer users than shards (the baseline, say) runs on fewer shards.
    count = min(settings.shards, plan.users)
    try:
        if count == 1:
            timed = run_load_shard.with_options(timeout_seconds=step_timeout_seconds(plan))
            shards = [timed(endpoint.base_url, plan, settings)]
        else:
            shards = sharded_load_flow(settings)(endpoint.base_url, plan, settings, count)
    except Exception as exc:  # the step is judged failed with the reason, the suite goes on
        problem = f"step {plan.name} could not run: {exc}"
        get_run_logger().error(problem)
    finally:
        samples = stop_resource_sampler(sampler)
    after = scrape_target_metrics(endpoint)
    return perf.assemble_step(
        plan,
        shards,
        metrics_before=before,
        metrics_after=after,
        resources=samples,
        problem=problem,
    )


def _log_step(outcome: StepOutcome, settings: PerformanceSuiteConfig) -> bool:
    within, reason = perf.judge_stress_step(outcome, settings.slo)
    get_run_logger().info("Step %s (%d users): %s", outcome.plan.name, outcome.plan.users, reason)
    return within


@flow(name="performance")
def performance(run: SuiteRun, settings: PerformanceSuiteConfig) -> SuiteResult:
    """Load the target at low load, at 1000 users per profile mix, then step it until it breaks.

    Args:
        run: The run and the started target's endpoint.
        settings: User profiles, step durations, the SLO, stress ramp, sampling and sharding.
    """
    started = utc_now()
    endpoint = run.endpoint
    if Capability.PREDICT not in endpoint.capabilities:
        result = SuiteResult(
            suite=perf.SUITE, started_at=started, checks=[perf.judge_without_predict()]
        )
        record_suite_result(run, result)
        return result

    baseline_plan, load_plans, stress_plans = perf.plan_steps(
        settings, endpoint.capabilities, run.seed
    )
    total = 1 + len(load_plans) + len(stress_plans)
    progress = create_progress_artifact(
        0.0,
        key=f"performance-{run.run_id.lower()}",
        description=f"Performance steps done (of {total} at most)",
    )
    done = 0

    def advance() -> None:
        nonlocal done
        done += 1
        update_progress_artifact(progress, 100.0 * done / total)

    outcomes: list[StepOutcome] = []
    probe = None
    verdict = None
    try:
        baseline = _run_step(endpoint, baseline_plan, settings)
        outcomes.append(baseline)
        _log_step(baseline, settings)
        advance()
        probe = probe_model_updates(endpoint, settings, run.seed)

        loads = []
        for plan in load_plans:
            loads.append(_run_step(endpoint, plan, settings))
            _log_step(loads[-1], settings)
            advance()
        outcomes += loads
        window = perf.load_window(loads)
        load_held = window is not None and perf.judge_step_result(window, settings.slo)

        stress: list[StepOutcome] = []
        capped = False
        ramp_started = time.monotonic()
        for plan in stress_plans:
            if time.monotonic() - ramp_started >= settings.stress.time_cap_seconds:
                capped = True
                break
            stress.append(_run_step(endpoint, plan, settings))
            advance()
            if not _log_step(stress[-1], settings):
                break
        outcomes += stress
        verdict = perf.stress_verdict(
            stress,
            settings.slo,
            settings.saturation,
            load_users=settings.load_users,
            load_held=load_held,
            capped=capped,
        )
    finally:
        if outcomes:
            record_evidence(run, outcomes, settings)
        update_progress_artifact(progress, 100.0)

    checks = [
        perf.judge_p95_within_budget(window, settings.p95_budget_seconds, settings.load_users),
        perf.judge_error_rate(window, settings.max_error_rate, settings.load_users),
        perf.judge_baseline(baseline, settings.p95_budget_seconds, settings.max_error_rate),
        perf.judge_inference(loads, settings.p95_budget_seconds),
        perf.judge_model_update(probe, settings.model_update_budget_seconds),
        perf.judge_stress(verdict, settings.load_users),
    ]
    result = SuiteResult(
        suite=perf.SUITE,
        checks=checks,
        measurements=perf.measurements(
            settings=settings, baseline=baseline, loads=loads, verdict=verdict, probe=probe
        ),
        started_at=started,
    )
    result.finished_at = utc_now()
    record_suite_result(run, result)
    return result
