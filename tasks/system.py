"""Steps of the system part: cross-component checks and the full system cycle."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from vigil.contract import labelled_rows
from vigil.results import CheckResult
from vigil.system import checks
from vigil.system.checks import CycleObservation
from vigil.system.settings import SystemPartConfig
from vigil.targets.base import TargetEndpoint
from vigil.targets.client import TargetClient


@task(name="check-feedback-reaches-model", cache_policy=NO_CACHE, timeout_seconds=300)
def check_feedback_reaches_model(
    endpoint: TargetEndpoint, settings: SystemPartConfig, seed: int
) -> CheckResult:
    """Check that labels move the model's score on their own features.

    Args:
        endpoint: The started target.
        settings: The part's settings (probes and how long each may take).
        seed: Seed of the probe rows.
    """
    rows = labelled_rows(seed, settings.model_probes)
    with TargetClient(endpoint, timeout_s=settings.request_timeout_s) as client:
        return checks.feedback_reaches_the_model(
            endpoint.capabilities,
            client,
            rows,
            probes=settings.model_probes,
            timeout_s=settings.model_probe_timeout_s,
        )


@task(name="check-quality-reaches-evaluation", cache_policy=NO_CACHE, timeout_seconds=300)
def check_quality_reaches_evaluation(
    endpoint: TargetEndpoint, settings: SystemPartConfig, seed: int
) -> CheckResult:
    """Check that /evaluation and /metrics agree on the model's quality and label count.

    Args:
        endpoint: The started target.
        settings: The part's settings (rows sent, tolerance).
        seed: Seed of the labelled rows.
    """
    rows = labelled_rows(seed, settings.quality_rows)
    with TargetClient(endpoint, timeout_s=settings.request_timeout_s) as client:
        return checks.quality_reaches_evaluation_and_metrics(
            endpoint.capabilities,
            client,
            rows,
            tolerance=settings.quality_tolerance,
            timeout_s=settings.cycle.settle_timeout_s,
        )


@task(name="check-incident-reaches-metrics", cache_policy=NO_CACHE, timeout_seconds=300)
def check_incident_reaches_metrics(
    endpoint: TargetEndpoint, settings: SystemPartConfig
) -> CheckResult:
    """Inject an error spike through the target's hook; check /incidents and /metrics show it.

    Args:
        endpoint: The started target.
        settings: The part's settings (how long the incident has to show).
    """
    with TargetClient(endpoint, timeout_s=settings.request_timeout_s) as client:
        return checks.incident_reaches_incidents_and_metrics(
            endpoint.capabilities, endpoint, client, timeout_s=settings.incident_timeout_s
        )


@task(name="check-config-shows-in-health", cache_policy=NO_CACHE, timeout_seconds=120)
def check_config_shows_in_health(
    endpoint: TargetEndpoint, settings: SystemPartConfig
) -> CheckResult:
    """Apply a cache size through /admin/config, check /health shows it, restore the old one.

    Args:
        endpoint: The started target.
        settings: The part's settings (request timeout).
    """
    with TargetClient(endpoint, timeout_s=settings.request_timeout_s) as client:
        return checks.config_applied_shows_in_health(endpoint.capabilities, client)


@task(name="check-no-resource-leak", cache_policy=NO_CACHE, timeout_seconds=3600)
def check_no_resource_leak(
    endpoint: TargetEndpoint, settings: SystemPartConfig, seed: int
) -> CheckResult:
    """Stream bounded traffic while sampling the target's tree; judge fds, threads and RSS.

    Args:
        endpoint: The started target (its pid).
        settings: The part's settings (stream length, bounds, tolerances).
        seed: Seed of the rows streamed.
    """
    rows = labelled_rows(seed, 200)
    with TargetClient(endpoint, timeout_s=settings.request_timeout_s) as client:
        return checks.no_resource_leak_over_sustained_run(
            endpoint.capabilities,
            endpoint,
            client,
            rows,
            seconds=settings.leak_seconds,
            max_requests=settings.leak_max_requests,
            interval_s=settings.leak_sample_interval_s,
            tolerance=settings.leak,
        )


@task(name="run-system-cycle", cache_policy=NO_CACHE, persist_result=False, timeout_seconds=3600)
def run_system_cycle(
    endpoint: TargetEndpoint, settings: SystemPartConfig, seed: int
) -> CycleObservation:
    """Traffic, drift, a fault, recovery, pattern analysis and adaptation, as one timeline.

    Args:
        endpoint: The started target.
        settings: The part's settings (the cycle's sizes and bounds).
        seed: Seed of the cycle's rows.
    """
    with TargetClient(endpoint, timeout_s=settings.request_timeout_s) as client:
        seen = checks.run_cycle(endpoint, client, seed, settings.cycle)
    get_run_logger().info(
        "System cycle: accuracy %s before drift, %s after, %s at the end; fault %s; %s",
        seen.accuracy_before_drift,
        seen.accuracy_after_drift,
        seen.accuracy_end,
        seen.fault,
        seen.analysis,
    )
    return seen


@task(name="judge-system-cycle", cache_policy=NO_CACHE)
def judge_system_cycle(
    endpoint: TargetEndpoint, seen: CycleObservation | None, settings: SystemPartConfig
) -> CheckResult:
    """Judge whether the system ended the cycle better than it started.

    Args:
        endpoint: The started target (its capabilities).
        seen: What the cycle observed (None when it could not run).
        settings: The part's settings (the minimum gain).
    """
    if seen is None:
        seen = CycleObservation()
    return checks.system_ends_better_than_it_started(
        endpoint.capabilities, seen, settings.cycle.min_gain
    )
