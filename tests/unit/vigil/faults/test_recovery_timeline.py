"""Timelines, the MTTR rule and the recovery checks on hand-made probe streams."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from vigil.faults.config import RecoveryPartConfig, ScenarioConfig
from vigil.faults.judgement import (
    diagnosis_matches_fault,
    evaluation_restored_after_recovery,
    heals_itself,
    no_feedback_lost,
    recovers_within_budget,
)
from vigil.faults.timeline import build_timeline, score
from vigil.observe.probes import ProbeKind, ProbeSample
from vigil.results import Status
from vigil.targets.client import Incident

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def stream(pattern: str, step_s: float = 0.1, latency_ms: float = 0.0) -> list[ProbeSample]:
    """One probe per character: '+' good, '-' failed, 's' good but slow."""
    samples = []
    for index, char in enumerate(pattern):
        samples.append(
            ProbeSample(
                sent_at=at(index * step_s),
                kind=ProbeKind.HEALTH,
                ok=char in "+s",
                status=200 if char in "+s" else None,
                latency_ms=900.0 if char == "s" else latency_ms,
            )
        )
    return samples


def timeline(pattern: str, *, incidents=(), rollback_at=None, expected="worker_crash"):
    return build_timeline(
        fault="worker_kill",
        kind="process_kill",
        expected_kind=expected,
        injected_at=at(0.05),
        samples=stream(pattern),
        incidents=list(incidents),
        settle_s=0.5,
        max_latency_ms=250,
        rollback_at=rollback_at,
    )


def test_recovery_is_the_start_of_the_first_good_run_held_for_the_settle_time() -> None:
    # Failures from 0.1 s, good from 1.0 s, a blip at 1.2 s, good for good from 1.3 s.
    t = timeline("+" + "-" * 9 + "++-" + "+" * 10)
    assert t.self_healed
    assert t.recovered_at == at(1.3)
    assert t.time_to_recover_s == pytest.approx(1.25)
    assert t.detected_by == "probe" and t.detected_at == at(0.1)


def test_recovery_is_dated_by_the_answer_of_the_first_good_probe() -> None:
    t = build_timeline(
        fault="f",
        kind="process_kill",
        expected_kind=None,
        injected_at=at(0.05),
        samples=stream("+--" + "+" * 10, latency_ms=40.0),
        incidents=[],
        settle_s=0.5,
        max_latency_ms=250,
        rollback_at=None,
    )
    assert t.recovered_at == at(0.3) + timedelta(milliseconds=40)


def test_slow_good_probes_count_as_failed() -> None:
    t = timeline("+--sss" + "+" * 10)
    assert t.recovered_at == at(0.6)


def test_the_targets_incident_is_the_detection_and_the_diagnosis() -> None:
    incident = Incident(
        id="1", kind="worker_crash", detected_at=at(0.4), recovered_at=at(1.0), action="restart"
    )
    early = Incident(id="0", kind="worker_hang", detected_at=at(-5), recovered_at=at(-4))
    t = timeline("+---" + "+" * 10, incidents=[early, incident])
    assert (t.detected_at, t.detected_by, t.diagnosed_kind) == (at(0.4), "target", "worker_crash")
    assert t.target_recovered_at == at(1.0)


def test_a_fault_healed_only_by_the_rollback_is_not_self_healed() -> None:
    # Failing until the rollback at 1.0 s, good after it.
    t = timeline("+" + "-" * 10 + "+" * 10, rollback_at=at(1.0))
    assert not t.self_healed and t.time_to_recover_s is None
    assert t.recovered_after_rollback_at == at(1.1)


def test_mttr_is_the_mean_when_every_fault_healed_itself_and_the_cap_otherwise() -> None:
    healed = [timeline("+--" + "+" * 10), timeline("+----" + "+" * 10)]
    scores = score(healed, 600)
    assert scores.mttr_s == pytest.approx((0.25 + 0.45) / 2)
    assert scores.self_healed_share == 1.0
    unhealed = timeline("+" + "-" * 10 + "+" * 10, rollback_at=at(1.0))
    scores = score([*healed, unhealed], 600)
    assert scores.mttr_s == 600
    assert scores.self_healed_share == pytest.approx(2 / 3)
    assert scores.not_self_healed == ["worker_kill"]


def test_checks_fail_with_messages_naming_the_unhealed_fault() -> None:
    unhealed = timeline("+" + "-" * 10 + "+" * 10, rollback_at=at(1.0))
    scores = score([unhealed], 600)
    budget = recovers_within_budget([unhealed], scores, 300)
    assert budget.status is Status.FAILED
    assert "worker_kill (process_kill) was not healed by the target itself" in budget.message
    assert "mttr_s is counted as 600 s" in budget.message
    heal = heals_itself([unhealed], scores)
    assert heal.status is Status.FAILED
    assert "vigil's rollback restored it 1.1 s after injection" in heal.message


def test_a_slow_self_healed_fault_misses_the_budget() -> None:
    slow = timeline("+" + "-" * 30 + "+" * 10)
    check = recovers_within_budget([slow], score([slow], 600), 2.0)
    assert check.status is Status.FAILED and "worker_kill took 3.0 s" in check.message


def test_diagnosis_accuracy_and_the_confusion_matrix() -> None:
    right = timeline(
        "+-" + "+" * 10,
        incidents=[Incident(id="1", kind="worker_crash", detected_at=at(0.2))],
    )
    wrong = timeline(
        "+-" + "+" * 10,
        incidents=[Incident(id="2", kind="database_unavailable", detected_at=at(0.2))],
    )
    missed = timeline("+-" + "+" * 10)
    scores = score([right, wrong, missed], 600)
    assert scores.diagnosis_accuracy == pytest.approx(1 / 3)
    assert scores.confusion == {
        "worker_crash": {"worker_crash": 1, "database_unavailable": 1, "none": 1}
    }
    check = diagnosis_matches_fault([right, wrong, missed], scores, True)
    assert check.status is Status.FAILED
    assert "expected worker_crash, diagnosed database_unavailable" in check.message
    assert "diagnosed nothing" in check.message
    assert diagnosis_matches_fault([right], score([right], 600), False).status is (
        Status.NOT_APPLICABLE
    )


def test_lost_feedback_and_evaluation_checks() -> None:
    lost = no_feedback_lost(3, "100 acknowledged")
    assert lost.status is Status.FAILED and "3 acknowledged labels are missing" in lost.message
    assert no_feedback_lost(0, "x").status is Status.PASSED
    assert no_feedback_lost(None, "count unreadable").status is Status.ERROR
    worse = evaluation_restored_after_recovery(0.9, 0.5, 0.15)
    assert worse.status is Status.FAILED and "did not come back" in worse.message
    assert evaluation_restored_after_recovery(0.9, 0.8, 0.15).status is Status.PASSED


def test_the_cap_must_exceed_the_budget_and_scenarios_reject_unknown_kinds() -> None:
    with pytest.raises(ValidationError, match="must exceed recovery_budget_s"):
        RecoveryPartConfig(not_self_healed_mttr_s=100, recovery_budget_s=300)
    with pytest.raises(ValidationError, match="process_explode"):
        ScenarioConfig.model_validate(
            {"name": "x", "faults": [{"fault": {"kind": "process_explode"}}]}
        )
    with pytest.raises(ValidationError, match="probe_interval_s"):
        RecoveryPartConfig(probe_interval_s=0.5)


def test_the_part_is_not_applicable_when_the_target_allows_none_of_the_faults() -> None:
    from vigil.faults.judgement import judge_recovery

    result = judge_recovery(
        [],
        RecoveryPartConfig(),
        scenario="component_failure",
        lost=(None, "not measured"),
        before=None,
        after=None,
        skipped=["worker_kill", "worker_hang"],
    )
    assert result.status is Status.NOT_APPLICABLE
    assert result.measurements == []
    assert "allows none of the scenario's faults: worker_kill, worker_hang" in (
        result.checks[0].message
    )


def test_a_missing_steady_state_fails_the_part_and_names_the_fault() -> None:
    from vigil.faults.experiment import EvaluationLevel
    from vigil.faults.judgement import judge_recovery

    healed = timeline("+--" + "+" * 10)
    healed = healed.model_copy(update={"effect_proven": True, "effect_detail": "pid 1 exited"})
    result = judge_recovery(
        [healed],
        RecoveryPartConfig(),
        scenario="component_failure",
        lost=(0, "fine"),
        before=EvaluationLevel(0.8, 30),
        after=EvaluationLevel(0.85, 90),
        problems=["steady state missing before worker_hang: 3 of 10 probes good"],
    )
    checks = {c.name: c for c in result.checks}
    assert result.status is Status.FAILED
    assert checks["steady_state_before_each_fault"].status is Status.FAILED
    assert "before worker_hang" in checks["steady_state_before_each_fault"].message
    assert {m.name: m.unit for m in result.measurements} == {
        "mttr_s": "s",
        "mean_time_to_detect_s": "s",
        "diagnosis_accuracy": "",
        "self_healed_share": "",
        "feedback_lost": "count",
    }
