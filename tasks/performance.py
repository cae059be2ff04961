"""Steps of the performance suite: load steps (or their shards), observations, evidence."""

from __future__ import annotations

from collections.abc import Sequence

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from vigil import performance
from vigil.config import Capability
from vigil.errors import RunError
from vigil.load import LoadProgress, LoadResult
from vigil.load.model_update import probe_model_update
from vigil.load.population import run_population
from vigil.load.scenario import random_labelled_rows
from vigil.observe.resources import ResourceSample, ResourceSampler, ResourceSamplerConfig
from vigil.performance import (
    LoadStepPlan,
    ModelUpdateProbeResult,
    PerformanceSuiteConfig,
    StepOutcome,
)
from vigil.run import SuiteRun
from vigil.store import open_store, record_load_evidence
from vigil.targets.base import TargetEndpoint
from vigil.targets.client import TargetClient

_MARGIN_SECONDS = 120
"""Task timeout beyond a step's own duration (start-up, the stop grace, slow answers)."""


@task(name="run-load-shard", cache_policy=NO_CACHE, persist_result=False)
def run_load_shard(
    base_url: str,
    plan: LoadStepPlan,
    settings: PerformanceSuiteConfig,
    shards: int = 1,
    index: int = 0,
) -> dict[str, LoadResult]:
    """Run shard `index` of `shards` of one load step; each group's result by name.

    Args:
        base_url: Origin of the target.
        plan: The step: its groups of users, warmup and measured time.
        settings: The suite's settings (timeouts, keep-alive, progress interval).
        shards: How many shards the step is split into.
        index: Which of them this is.
    """
    logger = get_run_logger()
    spec = performance.population_spec(plan, settings, shards=shards, index=index)
    shard = f" shard {index + 1}/{shards}" if shards > 1 else ""

    def show(progress: LoadProgress) -> None:
        logger.info(
            "%s%s: %.0f s, %d users, %d requests (%d errors), %.0f req/s, p95 <= %s ms",
            plan.name,
            shard,
            progress.elapsed_seconds,
            progress.active_users,
            progress.requests,
            progress.errors,
            progress.interval_rps,
            progress.interval_p95_ms,
        )

    users = sum(profile.users for profile, _ in spec.values())
    logger.info("%s%s: %d users in %d groups", plan.name, shard, users, len(spec))
    return run_population(base_url, spec, progress=show)


@task(name="scrape-target-metrics", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=1)
def scrape_target_metrics(endpoint: TargetEndpoint) -> str | None:
    """The target's `GET /metrics` text, or None when it has no metrics or cannot answer.

    Args:
        endpoint: The started target.
    """
    if Capability.METRICS not in endpoint.capabilities:
        return None
    try:
        with TargetClient(endpoint) as client:
            return client.metrics_text()
    except RunError as exc:
        get_run_logger().warning("Could not read the target's /metrics: %s", exc)
        return None


@task(name="start-resource-sampler", cache_policy=NO_CACHE, persist_result=False)
def start_resource_sampler(
    endpoint: TargetEndpoint, config: ResourceSamplerConfig
) -> ResourceSampler:
    """Start sampling the target's process tree (or container), vigil and the machine.

    Args:
        endpoint: The started target (its pid or container id, when known).
        config: Interval and bounds of the sampler.
    """
    if endpoint.pid is None and endpoint.container_id is None:
        get_run_logger().info(
            "The target's process is not known (kind %s): sampling vigil and the machine only",
            endpoint.kind,
        )
    return ResourceSampler(
        target_pid=endpoint.pid, container_id=endpoint.container_id, config=config
    ).start()


@task(name="stop-resource-sampler", cache_policy=NO_CACHE, persist_result=False)
def stop_resource_sampler(sampler: ResourceSampler) -> list[ResourceSample]:
    """Stop the sampler and return its samples.

    Args:
        sampler: A sampler started by `start-resource-sampler`.
    """
    samples = sampler.stop()
    if sampler.problem:
        get_run_logger().warning("Resource sampling: %s", sampler.problem)
    return samples


@task(name="probe-model-update", cache_policy=NO_CACHE, timeout_seconds=900)
def probe_model_updates(
    endpoint: TargetEndpoint, settings: PerformanceSuiteConfig, seed: int
) -> ModelUpdateProbeResult | None:
    """Time labels until the model's answers change, with the target's histogram around it.

    Args:
        endpoint: The started target (needs predict and feedback).
        settings: Number of probes and the timeout of each.
        seed: Seed of the probe's rows.
    """
    needed = {Capability.PREDICT, Capability.FEEDBACK}
    if settings.model_update_probes == 0 or not needed <= endpoint.capabilities:
        return None
    before = scrape_target_metrics.fn(endpoint)
    with TargetClient(endpoint, timeout_s=settings.request_timeout_seconds) as client:
        timings = probe_model_update(
            client,
            random_labelled_rows(seed=seed + 7_000_000),
            probes=settings.model_update_probes,
            timeout_seconds=settings.model_update_timeout_seconds,
            stop_after_timeouts=settings.model_update_stop_after_timeouts,
        )
    after = scrape_target_metrics.fn(endpoint)
    buckets: performance.Buckets = {}
    if before is not None and after is not None:
        try:
            buckets = performance.bucket_delta(
                performance.histogram_buckets(before, performance.MODEL_UPDATE_HISTOGRAM),
                performance.histogram_buckets(after, performance.MODEL_UPDATE_HISTOGRAM),
            )
        except ValueError as exc:
            get_run_logger().warning("The target's /metrics could not be read: %s", exc)
    result = ModelUpdateProbeResult(
        latencies_seconds=timings.latencies_seconds,
        timeouts=timings.timeouts,
        errors=timings.errors,
        server_buckets=buckets,
    )
    get_run_logger().info(
        "Model-update probe: %d labels timed, %d timeouts, p50 %s s (vigil), p50 %s s (target)",
        len(result.latencies_seconds),
        result.timeouts,
        performance.quantile(result.latencies_seconds, 0.5),
        performance.bucket_quantile(buckets, 0.5),
    )
    return result


@task(name="record-load-evidence", cache_policy=NO_CACHE, persist_result=False, retries=2)
def record_evidence(
    run: SuiteRun, outcomes: Sequence[StepOutcome], settings: PerformanceSuiteConfig
) -> int:
    """Store every step's histograms, time series and resource samples for the report.

    Args:
        run: The run the steps belong to.
        outcomes: The steps that ran.
        settings: The suite's settings (the SLO each step is marked against).
    """
    store = open_store(run.store)
    evidence = [performance.evidence_of(o, settings.slo) for o in outcomes]
    record_load_evidence(store, run.run_id, evidence)
    return len(evidence)


def step_timeout_seconds(plan: LoadStepPlan) -> float:
    """How long a step's task may run before Prefect gives up on it."""
    return plan.warmup_seconds + plan.measured_seconds + _MARGIN_SECONDS
