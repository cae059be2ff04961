"""The system part's pure judgements, on plain numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vigil.results import CheckResult, Severity, Status
from vigil.system.checks import (
    CycleObservation,
    QualityView,
    ResourcePoint,
    concept_rows,
    judge_config_shown,
    judge_cycle,
    judge_incident_seen,
    judge_model_moved,
    judge_quality_agreement,
    judge_resource_leak,
    metric_value,
    system_measurements,
)
from vigil.system.settings import LeakTolerance, SystemPartConfig

MB = 2**20


def test_labels_that_move_the_model_pass() -> None:
    outcome = judge_model_moved(3, 3, 0, [])
    assert outcome.passed
    assert outcome.message == "3 of 3 labels moved the model's score on their probe row"


def test_a_model_that_never_moves_fails_saying_it_does_not_learn() -> None:
    outcome = judge_model_moved(3, 0, 3, [])
    assert not outcome.passed
    assert "does not learn" in outcome.message
    assert outcome.measured["timeouts"] == 3


def test_probe_errors_fail_the_model_check() -> None:
    outcome = judge_model_moved(3, 2, 0, ["HTTP 500 from /predict"])
    assert not outcome.passed
    assert "HTTP 500" in outcome.message


def _view(**changes: object) -> QualityView:
    base = dict(
        evaluation_accuracy=0.80,
        metrics_accuracy=0.81,
        evaluation_rise=60,
        metrics_rise=60.0,
        accepted=60,
    )
    return QualityView(**{**base, **changes})  # type: ignore[arg-type]


def test_agreeing_quality_passes() -> None:
    outcome = judge_quality_agreement(_view(), 0.05)
    assert outcome.passed
    assert outcome.measured["accuracy_gap"] == pytest.approx(0.01)


def test_accuracies_apart_fail_with_both_figures() -> None:
    outcome = judge_quality_agreement(_view(metrics_accuracy=0.60), 0.05)
    assert not outcome.passed
    assert "0.800" in outcome.message and "0.600" in outcome.message
    assert "tolerance 0.05" in outcome.message


def test_labels_the_metrics_did_not_count_fail() -> None:
    outcome = judge_quality_agreement(_view(metrics_rise=55.0), 0.05)
    assert not outcome.passed
    assert "reference_feedback_total rose by 55, 60 labels were accepted" in outcome.message


def test_missing_metrics_fail_naming_them() -> None:
    outcome = judge_quality_agreement(_view(metrics_accuracy=None, metrics_rise=None), 0.05)
    assert not outcome.passed
    assert "no reference_model_accuracy" in outcome.message
    assert "no reference_feedback_total" in outcome.message


def test_an_incident_listed_and_counted_passes() -> None:
    outcome = judge_incident_seen(["error_rate_spike"], 1.0, 1.8, 300)
    assert outcome.passed
    assert "error_rate_spike" in outcome.message


def test_no_incident_fails_saying_how_long_vigil_watched() -> None:
    outcome = judge_incident_seen([], 0.0, 8.0, 900)
    assert not outcome.passed
    assert "no incident appeared in /incidents within 8.0 s" in outcome.message
    assert "rose by 0" in outcome.message


def test_an_incident_missing_from_metrics_fails() -> None:
    outcome = judge_incident_seen(["error_rate_spike"], 0.0, 2.0, 100)
    assert not outcome.passed
    assert "reference_incidents_total rose by 0" in outcome.message


def test_config_shown_and_restored_passes() -> None:
    assert judge_config_shown("cache_size", 107, 107, True).passed


@pytest.mark.parametrize(
    ("shown", "restored", "expected"),
    [
        (None, True, "/health shows no config.cache_size"),
        (100, True, "/health shows config.cache_size=100, 107 was applied"),
        (107, False, "the previous cache_size could not be restored"),
    ],
)
def test_config_not_shown_or_not_restored_fails(shown, restored, expected) -> None:
    outcome = judge_config_shown("cache_size", 107, shown, restored)
    assert not outcome.passed
    assert expected in outcome.message


def _points(fds, threads, rss_mb) -> list[ResourcePoint]:
    return [
        ResourcePoint(elapsed_s=i * 0.5, open_files=f, threads=t, rss_bytes=int(r * MB))
        for i, (f, t, r) in enumerate(zip(fds, threads, rss_mb, strict=True))
    ]


def test_flat_resources_pass() -> None:
    n = 12
    outcome = judge_resource_leak(
        _points([40] * n, [9] * n, [120 + (i % 2) for i in range(n)]), LeakTolerance(), 500
    )
    assert outcome.passed, outcome.message
    assert outcome.measured["fd_growth"] == 0


def test_a_descriptor_leak_fails() -> None:
    n = 12
    outcome = judge_resource_leak(
        _points([40 + 3 * i for i in range(n)], [9] * n, [120] * n), LeakTolerance(), 500
    )
    assert not outcome.passed
    assert "file descriptors grew by 27 (margin 8)" in outcome.message


def test_a_thread_leak_fails() -> None:
    n = 12
    outcome = judge_resource_leak(
        _points([40] * n, [9 + i for i in range(n)], [120] * n), LeakTolerance(), 500
    )
    assert not outcome.passed
    assert "threads grew by 9 (margin 4)" in outcome.message


def test_climbing_memory_fails_on_its_slope() -> None:
    n = 12
    # 5 MB every half second: 600 MB/min.
    outcome = judge_resource_leak(
        _points([40] * n, [9] * n, [120 + 5 * i for i in range(n)]), LeakTolerance(), 500
    )
    assert not outcome.passed
    assert "resident memory climbs 600.0 MB/min (bound 60)" in outcome.message


def test_too_few_samples_fail() -> None:
    outcome = judge_resource_leak(_points([1], [1], [1]), LeakTolerance(), 5)
    assert not outcome.passed
    assert "too few" in outcome.message


def _cycle(**changes: object) -> CycleObservation:
    seen = CycleObservation(
        accuracy_before_drift=0.9,
        accuracy_after_drift=0.7,
        accuracy_end=0.92,
        fault="worker_kill",
        recovered_s=1.2,
        healthy_at_end=True,
        health_detail="ok",
        accepted=500,
        counted=500,
        analysis="1 anomalies in 50 points",
    )
    for name, value in changes.items():
        setattr(seen, name, value)
    return seen


def test_a_cycle_that_ends_better_passes() -> None:
    outcome = judge_cycle(_cycle(), 0.0)
    assert outcome.passed, outcome.message
    assert outcome.measured["gain"] == pytest.approx(0.22)


def test_a_cycle_without_adaptation_fails_saying_so() -> None:
    outcome = judge_cycle(_cycle(accuracy_end=0.69), 0.0)
    assert not outcome.passed
    assert "went from 0.700 right after the drift to 0.690 at the end" in outcome.message
    assert "did not adapt" in outcome.message


def test_a_cycle_that_lost_feedback_or_health_fails() -> None:
    outcome = judge_cycle(_cycle(counted=495, healthy_at_end=False, health_detail="down"), 0.0)
    assert not outcome.passed
    assert "5 of 500 acknowledged labels were lost" in outcome.message
    assert "not healthy at the end (down)" in outcome.message


def test_a_fault_the_target_did_not_heal_fails_the_cycle() -> None:
    problem = "the target did not serve again by itself within 10 s of the worker_kill"
    outcome = judge_cycle(_cycle(recovered_s=None, fault_problem=problem), 0.0)
    assert not outcome.passed
    assert problem in outcome.message


def test_the_drifted_concept_differs_from_the_original() -> None:
    original = concept_rows(5, 500)
    drifted = concept_rows(5, 500, drifted=True)
    # The same river stream, relabelled and with two features exchanged.
    assert concept_rows(5, 3) == original[:3]
    changed = sum(
        a.label != b.label or a.features != b.features
        for a, b in zip(original, drifted, strict=True)
    )
    assert changed > 250


def test_metric_value_sums_samples_by_name() -> None:
    text = (
        "# TYPE reference_feedback_total counter\n"
        'reference_feedback_total{mode="direct"} 5.0\n'
        'reference_feedback_total{mode="buffered"} 2.0\n'
    )
    assert metric_value(text, "reference_feedback_total") == 7.0
    assert metric_value(text, "reference_model_accuracy") is None


def _check(name: str, status: Status) -> CheckResult:
    now = datetime.now(UTC)
    return CheckResult(
        name=name,
        status=status,
        severity=Severity.ERROR,
        message="",
        started_at=now,
        finished_at=now,
    )


def test_measurements_leave_not_applicable_checks_out() -> None:
    cross = [
        _check("a_b", Status.PASSED),
        _check("c_d", Status.FAILED),
        _check("e_f", Status.NOT_APPLICABLE),
    ]
    measures = {m.name: m for m in system_measurements(cross, _cycle())}
    assert measures["cross_component_pass_rate"].value == 0.5
    assert measures["cycle_accuracy_gain"].value == pytest.approx(0.22)
    assert measures["cycle_feedback_lost"].value == 0
    assert measures["cycle_recovery_s"].value == 1.2


def test_settings_reject_unknown_keys_and_bad_bounds() -> None:
    with pytest.raises(ValueError, match="extra"):
        SystemPartConfig.model_validate({"nope": 1})
    with pytest.raises(ValueError, match="greater than"):
        SystemPartConfig.model_validate({"leak_seconds": 0})


def test_no_incident_and_no_counter_yet_names_only_the_missing_incident() -> None:
    outcome = judge_incident_seen([], None, 8.0, 900)
    assert not outcome.passed
    assert outcome.message == (
        "no incident appeared in /incidents within 8.0 s of an error spike (900 predictions sent)"
    )


def test_an_incident_without_the_counter_fails_naming_the_metric() -> None:
    outcome = judge_incident_seen(["error_rate_spike"], None, 2.0, 100)
    assert not outcome.passed
    assert "/metrics has no reference_incidents_total" in outcome.message


def test_checks_without_the_capabilities_they_need_are_not_applicable() -> None:
    from vigil.config_base import Capability
    from vigil.system.checks import (
        config_applied_shows_in_health,
        incident_reaches_incidents_and_metrics,
        system_ends_better_than_it_started,
    )

    only_predict = frozenset({Capability.PREDICT})
    incident = incident_reaches_incidents_and_metrics(only_predict, None, None, timeout_s=1)
    assert incident.status is Status.NOT_APPLICABLE
    assert "admin" in incident.message and "incidents" in incident.message
    config = config_applied_shows_in_health(only_predict, None)
    assert config.status is Status.NOT_APPLICABLE
    cycle = system_ends_better_than_it_started(only_predict, CycleObservation(), 0.0)
    assert cycle.status is Status.NOT_APPLICABLE


def test_the_leak_check_needs_the_target_process() -> None:
    from vigil.config_base import Capability
    from vigil.system.checks import no_resource_leak_over_sustained_run
    from vigil.targets.base import TargetEndpoint

    caps = frozenset({Capability.PREDICT, Capability.FEEDBACK})
    endpoint = TargetEndpoint(
        name="remote", kind="http", base_url="http://127.0.0.1:9", capabilities=caps
    )
    result = no_resource_leak_over_sustained_run(
        caps,
        endpoint,
        None,
        [],
        seconds=1,
        max_requests=10,
        interval_s=0.1,
        tolerance=LeakTolerance(),
    )
    assert result.status is Status.NOT_APPLICABLE
    assert "process is not known" in result.message


def test_a_cycle_the_target_cut_short_fails_saying_where() -> None:
    outcome = judge_cycle(_cycle(aborted="GET /evaluation failed: connection reset"), 0.0)
    assert not outcome.passed
    assert "the cycle stopped early: GET /evaluation failed: connection reset" in outcome.message
