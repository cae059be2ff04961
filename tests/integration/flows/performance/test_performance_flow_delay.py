"""The performance flow against a local server with a known delay or error share (no mocks).

A known injected latency must come out as the p95 measure (within 10 %), a target slower than
the budget must fail `p95_latency_within_budget_at_1000_users`, and an erroring one must fail
`error_rate_within_budget`, each with a message that says why.
"""

from __future__ import annotations

import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flows.performance import performance
from vigil.config import Capability, StoreConfig
from vigil.performance import PerformanceSuiteConfig, RequestMixConfig, UserProfileConfig
from vigil.results import Status, SuiteResult
from vigil.run import SuiteRun
from vigil.store import load_evidence, open_store
from vigil.targets.base import TargetEndpoint

pytestmark = pytest.mark.integration

SERVER = Path(__file__).with_name("slow_target.py")


@pytest.fixture()
def slow_target() -> Iterator[Callable[..., str]]:
    """Start slow target servers; every one is terminated by pid afterwards."""
    started: list[subprocess.Popen[str]] = []

    def start(delay_ms: float = 0.0, fail_every: int = 0) -> str:
        process = subprocess.Popen(
            [
                sys.executable,
                str(SERVER),
                "--delay-ms",
                str(delay_ms),
                "--fail-every",
                str(fail_every),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready and process.stdout is not None, "the slow target printed no port in 20 s"
        line = process.stdout.readline()
        assert line.startswith("PORT "), line
        return f"http://127.0.0.1:{int(line.split()[1])}"

    try:
        yield start
    finally:
        for process in started:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def settings_for(**changes: object) -> PerformanceSuiteConfig:
    """Predict-only users thinking briefly; no stress, no model-update probe."""
    fields: dict[str, object] = {
        "profiles": {
            "only": UserProfileConfig(
                share=1,
                think_min_seconds=0.05,
                think_max_seconds=0.1,
                mix=RequestMixConfig(predict=1, predict_feedback=0, evaluation=0),
            )
        },
        "load_users": 8,
        "ramp_seconds": 0.5,
        "steady_seconds": 3,
        "baseline_users": 1,
        "baseline_seconds": 1,
        "stress": {"enabled": False},
        "model_update_probes": 0,
        "request_timeout_seconds": 10,
    }
    fields.update(changes)
    return PerformanceSuiteConfig.model_validate(fields)


def run_flow(
    base_url: str,
    tmp_path: Path,
    settings: PerformanceSuiteConfig,
    capabilities: frozenset[Capability] = frozenset({Capability.PREDICT, Capability.FEEDBACK}),
) -> SuiteResult:
    store = StoreConfig(url=f"sqlite:///{tmp_path / 'vigil.db'}")
    run_id = "20261201T000000-delay1"
    open_store(store).begin_run(run_id, profile="development", seed=5, config={})
    endpoint = TargetEndpoint(
        name="slow",
        kind="http",
        base_url=base_url,
        capabilities=capabilities,
    )
    run = SuiteRun(
        run_id=run_id,
        profile="development",
        seed=5,
        store=store,
        report_dir=tmp_path / run_id,
        endpoint=endpoint,
    )
    return performance(run, settings)


def test_p95_measure_matches_an_injected_latency(
    prefect_harness: None, slow_target: Callable[..., str], tmp_path: Path
) -> None:
    result = run_flow(slow_target(delay_ms=500), tmp_path, settings_for())

    p95 = next(m for m in result.measurements if m.name == "p95_latency_s_at_1000_users")
    assert p95.unit == "s"
    assert 0.5 <= p95.value <= 0.55, f"p95 {p95.value} s for an injected 0.5 s"
    checks = {c.name: c for c in result.checks}
    assert checks["p95_latency_within_budget_at_1000_users"].status is Status.PASSED


def test_a_target_slower_than_the_budget_fails_the_p95_check(
    prefect_harness: None, slow_target: Callable[..., str], tmp_path: Path
) -> None:
    stress = {"start_users": 6, "step_users": 2, "max_users": 8, "step_seconds": 3}
    settings = settings_for(load_users=4, steady_seconds=6, baseline_seconds=3, stress=stress)
    result = run_flow(slow_target(delay_ms=2500), tmp_path, settings)

    check = next(c for c in result.checks if c.name == "p95_latency_within_budget_at_1000_users")
    assert check.status is Status.FAILED
    assert "over the 2 s budget" in check.message and "at 4 users" in check.message, check
    assert check.measured["p95_s"] >= 2.5
    assert result.status is Status.FAILED
    # The ramp stops at its first step; the load step did not hold either, so none was good.
    ramp = next(c for c in result.checks if c.name == "saturation_above_load_users")
    assert ramp.status is Status.FAILED
    assert ramp.message.startswith("broke the SLO at 6 users (p95 over the limit: p95 25"), ramp
    assert "last good step none" in ramp.message


def test_an_erroring_target_fails_the_error_rate_check(
    prefect_harness: None, slow_target: Callable[..., str], tmp_path: Path
) -> None:
    result = run_flow(slow_target(delay_ms=5, fail_every=4), tmp_path, settings_for())

    check = next(c for c in result.checks if c.name == "error_rate_within_budget")
    assert check.status is Status.FAILED
    assert "over the 0.01 budget" in check.message and "status_5xx" in check.message, check
    assert check.measured["error_rate"] == pytest.approx(0.25, abs=0.03)
    availability = next(m for m in result.measurements if m.name == "availability_under_load")
    assert availability.value == pytest.approx(0.75, abs=0.03)


def test_a_target_without_predict_is_not_applicable_never_passed(
    prefect_harness: None, slow_target: Callable[..., str], tmp_path: Path
) -> None:
    result = run_flow(slow_target(), tmp_path, settings_for(), frozenset({Capability.HEALTH}))

    assert result.status is Status.NOT_APPLICABLE
    assert [c.message for c in result.checks] == ["the target has no predict capability to load"]
    stored = open_store(StoreConfig(url=f"sqlite:///{tmp_path / 'vigil.db'}"))
    assert [s.status for s in stored.suites("20261201T000000-delay1")] == [Status.NOT_APPLICABLE]


def test_a_target_that_never_learns_fails_the_model_update_check(
    prefect_harness: None, slow_target: Callable[..., str], tmp_path: Path
) -> None:
    # The test server accepts every label but always answers the same score. The probe
    # gives up after two labels in a row did not move it, not after all five.
    settings = settings_for(
        model_update_probes=5, model_update_timeout_seconds=0.5, load_users=2, steady_seconds=1
    )
    result = run_flow(slow_target(), tmp_path, settings)

    check = next(c for c in result.checks if c.name == "model_update_within_budget")
    assert check.status is Status.FAILED
    assert check.message == (
        "after 2 of 2 labels the model's answer did not change within the probe's timeout: "
        "the model is not learning from feedback"
    )
    assert result.status is Status.FAILED


def test_sharded_steps_measure_the_same_injected_latency(
    prefect_harness: None, slow_target: Callable[..., str], tmp_path: Path
) -> None:
    result = run_flow(slow_target(delay_ms=500), tmp_path, settings_for(shards=2))

    p95 = next(m for m in result.measurements if m.name == "p95_latency_s_at_1000_users")
    assert 0.5 <= p95.value <= 0.55, f"p95 {p95.value} s for an injected 0.5 s over 2 shards"
    stored = open_store(StoreConfig(url=f"sqlite:///{tmp_path / 'vigil.db'}"))
    evidence = load_evidence(stored, "20261201T000000-delay1")
    # The baseline's one user runs on one shard; the load step's eight on two.
    assert [e.summary["shards"] for e in evidence] == [1, 2]
    assert evidence[1].summary["requests"]["overall"]["count"] > 0
