"""The readiness judgements on hand-made observations."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from vigil.config import HTTP_CAPABILITIES, Capability
from vigil.observe.probes import ProbeKind, ProbeSample
from vigil.readiness.config import DeployDrillConfig, ReadinessSuiteConfig
from vigil.readiness.evidence import (
    DeployAttempt,
    Exchange,
    Fingerprint,
    GateResult,
    GateScore,
    RestoreObservation,
    SecurityObservation,
    TimingSample,
)
from vigil.readiness.judgements import (
    gate_verdict,
    judge_availability,
    judge_broken_deploy,
    judge_good_deploy,
    judge_restore,
    judge_security,
    same_answers,
)
from vigil.readiness.plan import missing, not_applicable
from vigil.readiness.timeline import per_second
from vigil.results import Status

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def probes(*failing: float, count: int = 100) -> list[ProbeSample]:
    """One probe every 0.1 s for `count` probes; those sent at `failing` seconds failed."""
    return [
        ProbeSample(
            sent_at=at(i / 10),
            kind=ProbeKind.HEALTH,
            ok=round(i / 10, 1) not in failing,
            error=None if round(i / 10, 1) not in failing else "HTTP 503",
            latency_ms=2.0,
        )
        for i in range(count)
    ]


def test_gate_fails_a_version_that_answers_worse_and_passes_one_that_does_not():
    bad = gate_verdict(GateScore(versions=["v2"], accuracy=0.4), "v2", 0.9, 0.15)
    assert not bad.passed and "more than 0.15 below the previous version's 0.900" in bad.reason
    mixed = gate_verdict(GateScore(versions=["v1", "v2"], accuracy=0.9), "v2", 0.9, 0.15)
    assert not mixed.passed and "not only 'v2'" in mixed.reason
    errors = gate_verdict(GateScore(versions=["v2"], errors=["timed out"]), "v2", 0.9, 0.1)
    assert not errors.passed and "timed out" in errors.reason
    assert gate_verdict(GateScore(versions=["v2"], accuracy=0.8), "v2", 0.9, 0.15).passed


def test_availability_excludes_only_the_fault_windows():
    samples = probes(1.0, 1.1, 5.0)
    checks, measures = judge_availability(samples, [(at(0.95), at(1.15))])
    assert measures[0].value == pytest.approx(97 / 98)
    assert measures[0].context["excluded_probes"] == 2
    assert "excluded here and judged by MTTR" in checks[0].message
    empty, none = judge_availability([], [])
    assert empty[0].status is Status.ERROR and none == []


def test_a_deploy_with_a_failed_probe_fails_and_counts_it():
    attempt = DeployAttempt(
        kind="model",
        broken=False,
        previous="v1",
        version="v2",
        started_at=at(2),
        finished_at=at(3),
        gate=GateResult(passed=True, reason="ok", version="v2", passed_at=at(2.5)),
    )
    checks, measures = judge_good_deploy(attempt, probes(2.5))
    quiet = {c.name: c for c in checks}["deploy_without_failed_requests"]
    assert quiet.status is Status.FAILED
    assert quiet.message == "1 of 11 probes failed during the model deploy (first: HTTP 503)"
    values = {m.name: m.value for m in measures}
    assert values == {"deploy_failed_requests": 1.0, "deploy_seconds": 0.5}
    assert judge_good_deploy(attempt, probes())[0][1].status is Status.PASSED


def test_a_broken_deploy_let_through_or_not_rolled_back_fails():
    base = DeployAttempt(
        kind="model", broken=True, previous="v1", version="v2", started_at=at(0), finished_at=at(1)
    )
    through = base.model_copy(update={"gate": GateResult(passed=True, reason="ok")})
    assert "let the broken version 'v2' through" in judge_broken_deploy(through)[0][0].message
    stuck = base.model_copy(
        update={"gate": GateResult(passed=False, reason="worse"), "error": "rollback answered 500"}
    )
    assert (
        "no rollback happened (rollback answered 500)" in judge_broken_deploy(stuck)[0][0].message
    )
    good = base.model_copy(
        update={
            "gate": GateResult(passed=False, reason="worse"),
            "rolled_back": True,
            "rollback_started_at": at(0.5),
            "rollback_verified_at": at(0.75),
            "serving_after": "v1",
            "old_answers_identical": True,
        }
    )
    checks, measures = judge_broken_deploy(good)
    assert checks[0].status is Status.PASSED
    assert measures[0].name == "rollback_seconds" and measures[0].value == 0.25


def restored(**changes) -> RestoreObservation:
    print_ = Fingerprint(
        taken_at=at(0), model_version="v2", evaluation_count=20, evaluation_accuracy=0.9,
        evaluation_log_loss=0.3, scores=[0.1, 0.9],
    )  # fmt: skip
    seen = RestoreObservation(
        backup_id="b1",
        backup_created_at=at(1),
        backup_sha256_claimed="ab" * 32,
        backup_sha256_measured="ab" * 32,
        before=print_,
        writes_after_backup=3,
        at_destruction=print_.model_copy(update={"evaluation_count": 23}),
        destroyed_at=at(3),
        target_back_at=at(8),
        restore_started_at=at(8),
        restored_at=at(9),
        after=print_,
        corrupt_status=422,
        corrupt_detail="truncated",
        after_corrupt=print_,
    )
    return seen.model_copy(update=changes)


def test_restore_measures_rto_and_rpo_and_judges_identity():
    checks, measures = judge_restore(restored(), 1e-9)
    assert all(c.status is Status.PASSED for c in checks), [c.message for c in checks]
    values = {m.name: m.value for m in measures}
    assert values == {"rto_s": 6.0, "rpo_s": 2.0, "rpo_feedback_lost": 3.0}

    changed = restored(after=restored().after.model_copy(update={"scores": [0.1, 0.8]}))
    identical = {c.name: c for c in judge_restore(changed, 1e-9)[0]}["restore_is_identical"]
    assert identical.status is Status.FAILED
    assert "1 of 2 probe-set scores differ" in identical.message

    silent = {c.name: c for c in judge_restore(restored(corrupt_status=200), 1e-9)[0]}
    assert silent["corrupt_backup_refused"].status is Status.FAILED
    assert "restored silently" in silent["corrupt_backup_refused"].message

    unsigned = {c.name: c for c in judge_restore(restored(backup_sha256_claimed=None), 1e-9)[0]}
    assert "carries no SHA-256" in unsigned["backup_checksum_matches"].message


def test_security_flags_open_endpoints_leaks_crashes_and_timing():
    rng = random.Random(1)
    slow = TimingSample(
        right_prefix_ms=[5 + rng.random() for _ in range(100)],
        wrong_first_byte_ms=[1 + rng.random() for _ in range(100)],
    )
    seen = SecurityObservation(
        started_at=at(0),
        refusals=[
            Exchange(label="no token", method="GET", path="/admin/models", status=200),
            Exchange(label="no token", method="POST", path="/admin/backup", status=401),
        ],
        timing=slow,
        bad_input=[
            Exchange(
                label="malformed json",
                method="POST",
                path="/predict",
                status=500,
                body='Traceback (most recent call last):\n  File "/x.py"',
            )
        ],
        leaks=["the answer to GET /health [surface]"],
        scanned=["3 responses"],
    )
    checks = {c.name: c for c in judge_security(seen, 0.001, 0.2)[0]}
    assert checks["admin_refuses_bad_tokens"].message.startswith("1 of 2 admin calls")
    assert "GET /admin/models [no token -> 200]" in checks["admin_refuses_bad_tokens"].message
    assert checks["token_check_constant_time"].status is Status.FAILED
    assert "exits early" in checks["token_check_constant_time"].message
    assert "-> 500 with a stack trace" in checks["no_5xx_on_bad_input"].message
    assert checks["no_secret_leaked"].status is Status.FAILED

    even = TimingSample(
        right_prefix_ms=[1 + rng.random() for _ in range(100)],
        wrong_first_byte_ms=[1 + rng.random() for _ in range(100)],
    )
    fair = seen.model_copy(update={"timing": even})
    assert {c.name: c for c in judge_security(fair, 0.001, 0.2)[0]}[
        "token_check_constant_time"
    ].status is Status.PASSED


def test_same_answers_needs_every_row_answered():
    assert same_answers([0.1, 0.2], [0.1, 0.2 + 1e-12], 1e-9)
    assert not same_answers([0.1, 0.2], [0.1, None], 1e-9)
    assert not same_answers([], [], 1e-9)


def test_drills_the_target_cannot_take_are_not_applicable():
    assert missing("restore", HTTP_CAPABILITIES) == ["process_control"]
    assert missing("restore", HTTP_CAPABILITIES | {Capability.CONTAINER_CONTROL}) == []
    checks = not_applicable(HTTP_CAPABILITIES, ReadinessSuiteConfig())
    assert {c.name for c in checks} == {"restore_is_identical", "corrupt_backup_refused"}
    assert all(c.status is Status.NOT_APPLICABLE for c in checks)


def test_probe_timeline_is_per_second_and_bounded():
    points = per_second(probes(0.5, count=30), max_points=2)
    assert [(p.sent, p.good, p.failed) for p in points] == [(10, 9, 1), (10, 10, 0)]


def test_a_broken_version_must_be_a_listed_version():
    with pytest.raises(ValueError, match="broken_version 'v9' is not one of the versions"):
        DeployDrillConfig(broken_version="v9")
