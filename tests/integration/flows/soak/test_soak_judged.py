"""The soak flow's verdicts against real targets: a healthy one passes, broken ones fail.

Each test runs the soak flow for real (the session's Prefect server) against the reference
service for a few short cycles:

* healthy, with a worker hang every second cycle: every check passes, and the requests the
  soak counts agree with the target's own request counters (``/metrics``);
* behind vigil's fault proxy with a latency that grows every second: the latency trend fails
  with its projected time although every cycle's p95 is still below the bound;
* with its pattern analyzer off (``--patterns-mode none``): the per-cycle pattern check fails
  as a warning naming the cycle, and only that check;
* with ``/predict`` failing (the reference's error hook, self-healing off): the per-cycle
  learning check fails.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from flows.soak import soak
from tests.integration.vigil.faults.targets import reference_config
from vigil.config import StoreConfig
from vigil.faults.proxy import FaultProxy, ProxyFault
from vigil.results import Severity, Status, SuiteResult
from vigil.run import SuiteRun
from vigil.soak.config import SoakSuiteConfig, soak_settings_for
from vigil.soak.judge import CycleFigures
from vigil.store import SoakCheckpoints, Store
from vigil.targets import Target, open_target
from vigil.targets.base import TargetEndpoint
from vigil.targets.client import TargetClient

pytestmark = pytest.mark.integration


@pytest.fixture
def reference(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Target]:
    """The reference service started with the test's switches (``@pytest.mark.parametrize``)."""
    switches = getattr(request, "param", ())
    with open_target(reference_config(*switches), tmp_path / "target") as target:
        yield target


def _run_soak(
    tmp_path: Path, soak_id: str, endpoint: TargetEndpoint, settings: SoakSuiteConfig
) -> tuple[SuiteResult, list[CycleFigures]]:
    store_url = f"sqlite:///{tmp_path / 'vigil.db'}"
    store = Store.open(store_url)
    store.begin_run(soak_id, profile="development", seed=5, config={})
    run = SuiteRun(
        run_id=soak_id,
        profile="development",
        seed=5,
        store=StoreConfig(url=store_url),
        report_dir=tmp_path / "reports",
        endpoint=endpoint,
    )
    result = soak(run, settings)
    cycles = [
        CycleFigures.model_validate(c.figures) for c in SoakCheckpoints(store).cycles(soak_id)
    ]
    return result, cycles


def _served(endpoint: TargetEndpoint) -> dict[str, int]:
    """Requests the target itself counted, by endpoint, from its own ``/metrics``."""
    with TargetClient(endpoint, timeout_s=10.0) as client:
        text = client.metrics_text()
    served: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "reference_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                path = sample.labels["endpoint"]
                served[path] = served.get(path, 0) + int(sample.value)
    return served


def test_a_healthy_soak_passes_and_its_request_count_matches_the_targets_own(
    tmp_path, prefect_harness, reference
):
    settings = soak_settings_for(
        "development",
        duration_s=18.0,
        cycle_s=6.0,
        fault={"every_cycles": 2, "delay_s": 1.0, "max_duration_s": 3.0, "settle_s": 1.0},
        learning_rows=5,
    )
    before = _served(reference.endpoint)
    result, cycles = _run_soak(tmp_path, "healthy-soak", reference.endpoint, settings)
    after = _served(reference.endpoint)

    assert result.status is Status.PASSED, [(c.name, c.message) for c in result.checks]
    statuses = {c.name: c.status for c in result.checks}
    assert statuses["every_fault_reverted"] is Status.PASSED
    assert statuses["every_fault_recovered"] is Status.PASSED
    assert statuses["patterns_found_every_cycle"] is Status.PASSED
    assert statuses["learning_held_every_cycle"] is Status.PASSED
    assert [c.cycle for c in cycles] == [1, 2, 3]
    assert [c.fault_kind is not None for c in cycles] == [False, True, False]
    measures = {m.name: m.value for m in result.measurements}
    assert measures["soak_cycles_completed"] == 3
    assert 0.99 <= measures["soak_availability"] <= 1.0

    # The soak's own count of its load against the target's count of what it served. /predict
    # and /feedback are also sent by the learning check (`learning_rows` of each per cycle)
    # and /predict by every second probe (at most one per probe interval of a cycle's span).
    # A request the client gave up on during the hang may still be served after it.
    def grown(path: str) -> int:
        return after.get(path, 0) - before.get(path, 0)

    served_load = grown("/predict") + grown("/feedback") - 2 * settings.learning_rows * 3
    span_s = sum((c.finished_at - c.started_at).total_seconds() for c in cycles)
    probe_predicts_max = int(span_s / settings.probe_interval_s / 2) + 3
    sent = sum(c.requests for c in cycles)
    errors = sum(c.errors for c in cycles)
    assert sent > 100, sent
    assert sent - errors <= served_load <= sent + probe_predicts_max, (
        sent,
        errors,
        served_load,
        probe_predicts_max,
    )


def test_a_target_that_slows_down_fails_the_latency_trend_before_reaching_its_bound(
    tmp_path, prefect_harness, reference
):
    stop = threading.Event()

    def slow_down(proxy: FaultProxy) -> None:
        # 4 ms more each way every half second, for longer than the soak lasts (so that every
        # cycle sees a slower target than the one before), up to 720 ms each way after 90 s.
        for step in range(1, 181):
            if stop.wait(0.5):
                return
            proxy.set_fault(ProxyFault(latency_ms=4.0 * step))

    settings = soak_settings_for(
        "development",
        duration_s=30.0,
        cycle_s=5.0,
        fault={"every_cycles": 0},
        learning_rows=0,
        pattern_check=False,
        bounds={"p95_latency_bound_s": 2.0, "horizon_s": 3600.0, "min_cycles_for_trend": 3},
    )
    with FaultProxy.for_endpoint(reference.endpoint) as proxy:
        ramp = threading.Thread(target=slow_down, args=(proxy,), daemon=True)
        ramp.start()
        try:
            result, cycles = _run_soak(
                tmp_path, "slowing-soak", proxy.proxied(reference.endpoint), settings
            )
        finally:
            stop.set()
            ramp.join(timeout=10)

    latency = {c.name: c for c in result.checks}["latency_trend_within_bound"]
    assert latency.status is Status.FAILED, latency.message
    assert "p95 latency would reach its bound of 2 s" in latency.message
    assert "before its planned end at 1 h" in latency.message
    assert 0 < latency.measured["projected_crossing_h"] < 1.0
    # Judged on the trend: no cycle had reached the bound yet.
    assert all(c.p95_s is not None and c.p95_s < 2.0 for c in cycles)
    assert cycles[-1].p95_s > cycles[0].p95_s
    assert result.status is Status.FAILED


@pytest.mark.parametrize("reference", [("--patterns-mode", "none")], indirect=True)
def test_a_target_that_finds_no_patterns_fails_the_pattern_check_as_a_warning(
    tmp_path, prefect_harness, reference
):
    settings = soak_settings_for(
        "development", duration_s=5.0, cycle_s=5.0, fault={"every_cycles": 0}, learning_rows=3
    )
    result, _ = _run_soak(tmp_path, "no-patterns-soak", reference.endpoint, settings)

    checks = {c.name: c for c in result.checks}
    patterns = checks["patterns_found_every_cycle"]
    assert patterns.status is Status.FAILED
    assert patterns.severity is Severity.WARN
    assert "the pattern check failed in 1 of 1 cycles; first in cycle 1" in patterns.message
    assert "none covering the spike" in patterns.message
    assert checks["learning_held_every_cycle"].status is Status.PASSED
    # A warning alone does not fail the soak.
    assert result.status is Status.PASSED, [(c.name, c.message) for c in result.checks]


@pytest.mark.parametrize("reference", [("--self-healing-enabled", "false")], indirect=True)
def test_a_target_whose_predictions_fail_fails_the_learning_check(
    tmp_path, prefect_harness, reference
):
    # The reference runs one worker here, so one call reaches the worker that serves the soak;
    # its self-healing is off, or it would restart that worker and clear the hook.
    with TargetClient(reference.endpoint, timeout_s=10.0) as client:
        answer = client.admin("POST", "/admin/faults/errors", json={"rate": 1.0, "seconds": 120})
        assert answer.status_code == 200, answer.text
    settings = soak_settings_for(
        "development",
        duration_s=5.0,
        cycle_s=5.0,
        fault={"every_cycles": 0},
        learning_rows=3,
        pattern_check=False,
    )
    result, cycles = _run_soak(tmp_path, "no-learning-soak", reference.endpoint, settings)

    learning = {c.name: c for c in result.checks}["learning_held_every_cycle"]
    assert learning.status is Status.FAILED
    assert "the learning check failed in 1 of 1 cycles; first in cycle 1" in learning.message
    assert "500" in learning.message, learning.message
    assert all(c.learning_problem for c in cycles)
