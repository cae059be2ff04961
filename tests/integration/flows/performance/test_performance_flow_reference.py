"""The performance flow end to end against the real reference service, on the Prefect harness.

The service is launched by vigil's own process target (so the endpoint's pid is the one the
resource sampler follows); the flow runs a short profile and its result is read back from a
real SQLite store. vigil's timings are compared with the service's own `/metrics` histograms,
an instrument vigil does not control.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.logging import disable_run_logger

from flows.performance import performance
from tasks.performance import probe_model_updates, run_load_shard, scrape_target_metrics
from vigil.config import ProcessTargetConfig, StoreConfig, load_config
from vigil.performance import (
    PerformanceSuiteConfig,
    RequestMixConfig,
    StressConfig,
    UserProfileConfig,
    assemble_step,
    bucket_count,
    bucket_quantile,
    plan_steps,
    quantile,
)
from vigil.results import Status
from vigil.run import SuiteRun
from vigil.store import load_evidence, open_store
from vigil.targets import open_target
from vigil.targets.base import TargetEndpoint

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def reference_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetEndpoint]:
    """The reference service started by vigil's process target; its endpoint."""
    config = load_config(None, "development").target
    assert isinstance(config, ProcessTargetConfig)
    target = open_target(config, tmp_path_factory.mktemp("perf-reference"))
    with target:
        yield target.endpoint


def short_settings(**changes: object) -> PerformanceSuiteConfig:
    """A profile of a few seconds and a few users, thinking briefly."""
    quick = {"think_min_seconds": 0.05, "think_max_seconds": 0.2}
    fields: dict[str, object] = {
        "profiles": {
            "light": UserProfileConfig(share=0.5, **quick, mix=RequestMixConfig(predict=1)),
            "heavy": UserProfileConfig(share=0.5, **quick),
        },
        "load_users": 12,
        "ramp_seconds": 1,
        "steady_seconds": 3,
        "baseline_users": 2,
        "baseline_seconds": 1.5,
        "stress": StressConfig(
            start_users=16, step_users=8, max_users=24, step_warmup_seconds=0.5, step_seconds=1.5
        ),
        "model_update_probes": 5,
        "resources": {"interval_seconds": 0.25},
    }
    fields.update(changes)
    return PerformanceSuiteConfig.model_validate(fields)


def suite_run(endpoint: TargetEndpoint, tmp_path: Path, run_id: str) -> SuiteRun:
    store = StoreConfig(url=f"sqlite:///{tmp_path / 'vigil.db'}")
    open_store(store).begin_run(run_id, profile="development", seed=3, config={})
    return SuiteRun(
        run_id=run_id,
        profile="development",
        seed=3,
        store=store,
        report_dir=tmp_path / run_id,
        endpoint=endpoint,
    )


def test_endpoint_names_the_services_top_process(reference_endpoint: TargetEndpoint) -> None:
    assert reference_endpoint.pid is not None
    process = psutil.Process(reference_endpoint.pid)
    assert "reference" in " ".join(process.cmdline())
    assert process.children(recursive=True), "the supervisor's workers are below its pid"


def test_flow_runs_end_to_end_and_records_its_result(
    prefect_harness: None, reference_endpoint: TargetEndpoint, tmp_path: Path
) -> None:
    run = suite_run(reference_endpoint, tmp_path, "20261201T000000-perf01")
    result = performance(run, short_settings())

    checks = {c.name: c for c in result.checks}
    assert checks["p95_latency_within_budget_at_1000_users"].status is Status.PASSED, checks
    assert checks["error_rate_within_budget"].status is Status.PASSED, checks
    assert checks["model_update_within_budget"].status is Status.PASSED, checks
    assert checks["baseline_within_slo"].status is Status.PASSED, checks

    stored = {s.suite: s for s in open_store(run.store).suites(run.run_id)}
    assert stored["performance"].status is result.status
    measured = {m.name: m for m in stored["performance"].measurements}
    for name in (
        "p95_latency_s_at_1000_users",
        "p50_latency_s_at_1000_users",
        "p99_latency_s_at_1000_users",
        "availability_under_load",
        "error_rate",
        "throughput_rps",
        "inference_p95_s",
        "inference_p95_s_light",
        "model_update_p95_s",
        "target_inference_p95_s",
        "saturation_users",
        "target_cpu_percent_peak",
    ):
        assert name in measured, f"{name} missing from {sorted(measured)}"
    assert measured["p95_latency_s_at_1000_users"].unit == "s"
    assert 0 < measured["p95_latency_s_at_1000_users"].value < 2
    assert measured["availability_under_load"].value == pytest.approx(1.0)
    assert measured["saturation_users"].value >= 12

    with get_client(sync_client=True) as client:
        [progress] = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[f"performance-{run.run_id.lower()}"])
            )
        )
    assert progress.type == "progress" and float(progress.data) == 100.0

    evidence = load_evidence(open_store(run.store), run.run_id)
    steps = [e.step for e in evidence]
    assert steps[:2] == ["baseline", "load_12"] and steps[2].startswith("stress_"), steps
    load_step = evidence[1]
    assert load_step.histograms["overall"], "the encoded histogram is kept"
    assert load_step.series and load_step.summary["requests"]["overall"]["count"] > 0
    targets = [s["target"] for s in load_step.resources if s["target"]]
    assert targets and max(t["processes"] for t in targets) >= 2  # supervisor and a worker


def test_model_update_probe_agrees_with_the_services_histogram(
    prefect_harness: None, reference_endpoint: TargetEndpoint
) -> None:
    probes = 8
    settings = short_settings(model_update_probes=probes)
    with disable_run_logger():
        probe = probe_model_updates.fn(reference_endpoint, settings, 11)

    assert probe is not None and probe.timeouts == 0 and not probe.errors, probe
    assert len(probe.latencies_seconds) == probes
    # The service observed each of the probe's labels once, and nothing else labelled meanwhile.
    assert bucket_count(probe.server_buckets) == probes
    vigil_p50 = quantile(probe.latencies_seconds, 0.5)
    target_p50 = bucket_quantile(probe.server_buckets, 0.5)
    assert vigil_p50 is not None and target_p50 is not None
    # vigil polls every 10 ms and the service's buckets are 25-50 ms wide around 0.1 s.
    assert abs(vigil_p50 - target_p50) <= max(0.06, 0.3 * target_p50), (vigil_p50, target_p50)


def test_inference_latency_agrees_with_the_services_request_histogram(
    prefect_harness: None, reference_endpoint: TargetEndpoint
) -> None:
    settings = short_settings(load_users=10, ramp_seconds=0, steady_seconds=3)
    plan = plan_steps(settings, reference_endpoint.capabilities, seed=21)[1][0]
    with disable_run_logger():
        before = scrape_target_metrics.fn(reference_endpoint)
        shard = run_load_shard.fn(reference_endpoint.base_url, plan, settings)
        after = scrape_target_metrics.fn(reference_endpoint)
    outcome = assemble_step(plan, [shard], metrics_before=before, metrics_after=after, resources=[])

    assert outcome.problem is None and outcome.merged is not None
    vigil_predict = outcome.merged.requests["predict"]
    cancelled = outcome.merged.cancelled
    served = bucket_count(outcome.predict_server_buckets)
    # Every prediction vigil counted was served and timed by the service, and nothing else.
    assert vigil_predict.count <= served <= vigil_predict.count + cancelled, (
        vigil_predict.count,
        served,
    )
    target_p95 = bucket_quantile(outcome.predict_server_buckets, 0.95)
    assert target_p95 is not None and vigil_predict.latency.p95_ms is not None
    # The service times from its app's entry, vigil from the socket, so vigil's p95 is the
    # longer one, as far as the service's buckets can tell (its p95 is interpolated within one).
    bucket_bottom = max((b for b in outcome.predict_server_buckets if b < target_p95), default=0.0)
    assert vigil_predict.latency.p95_ms / 1000 >= bucket_bottom, (vigil_predict.latency, target_p95)
