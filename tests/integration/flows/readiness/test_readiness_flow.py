"""The readiness flow on Prefect against real targets: the reference passes, broken ones fail."""

from __future__ import annotations

import pytest

from flows.readiness import readiness
from tests.integration.conftest import drill_target_config
from vigil.observe.probes import ProbeConfig
from vigil.readiness.config import (
    DeployDrillConfig,
    ReadinessSuiteConfig,
    RestoreDrillConfig,
    SecurityDrillConfig,
    TargetVersionConfig,
)
from vigil.results import Status
from vigil.store import Store

pytestmark = pytest.mark.integration

QUICK_SECURITY = SecurityDrillConfig(timing_samples=60, fuzz_examples=5)
PATIENT_PROBES = ProbeConfig(interval_s=0.1, timeout_s=3.0, max_duration_s=300)
"""For the small drill target on a machine shared with other work: a slow answer is not
what these tests are about (they break the target in other ways)."""


@pytest.fixture(autouse=True)
def _on_prefect(prefect_harness: None) -> None:
    return None


def by_name(result) -> dict:
    return {check.name: check for check in result.checks}


def measures(result) -> dict[str, float]:
    return {m.name: m.value for m in result.measurements}


def test_the_reference_passes_every_drill_and_availability_is_measured(start_target, make_run):
    target = start_target()
    run = make_run(target)
    # The destroy-data drill must spare the target's logs, rotated ones included.
    with (target.log_path).open("a") as log:
        log.write("written before the drills\n")
    rotated = target.log_path.with_name("target.log.1")
    rotated.write_text("an older, rotated log\n")
    result = readiness(run, ReadinessSuiteConfig())
    print(f"readiness suite took {(result.finished_at - result.started_at).total_seconds():.1f} s")
    assert "written before the drills" in target.log_path.read_text()
    assert rotated.read_text() == "an older, rotated log\n"

    checks = by_name(result)
    failed = {n: c.message for n, c in checks.items() if c.status is not Status.PASSED}
    # The reference runs over plain HTTP here (test_readiness_tls covers TLS).
    assert failed.pop("tls_valid_without_plaintext", "").startswith("the target is served over")
    assert not failed, failed
    for name in (
        "availability_measured",
        "deploy_without_failed_requests",
        "broken_deploy_rolled_back",
        "restore_is_identical",
        "corrupt_backup_refused",
        "admin_refuses_bad_tokens",
        "token_check_constant_time",
        "no_5xx_on_bad_input",
        "no_secret_leaked",
        "alert_fires_within_bound",
        "alert_resolves_after_recovery",
    ):
        assert name in checks
    seen = measures(result)
    # The 0.999 bound is the criteria flow's; on a machine shared with other work a probe
    # can time out now and then, which is measured, not hidden.
    assert seen["availability"] >= 0.99
    assert seen["deploy_failed_requests"] == 0
    assert 0 < seen["deploy_seconds"] < 15
    assert 0 < seen["rollback_seconds"] < 15
    assert seen["rto_s"] > 0 and seen["rpo_s"] > 0
    assert seen["rpo_feedback_lost"] == RestoreDrillConfig().writes_after_backup
    assert seen["security_findings"] == 0
    assert seen["alert_fire_s"] > 0 and seen["alert_resolve_s"] > 0
    assert "2 deliberate fault window(s)" in checks["availability_measured"].message

    store = Store.open(run.store.url)
    drills = {d.drill: d for d in store.drills(run.run_id)}
    assert {
        "deploy", "broken_deploy", "destroy_data", "backup_restore", "inject_errors", "alerting",
        "security",
    } <= set(drills)  # fmt: skip
    assert drills["destroy_data"].excluded_from_availability
    assert drills["inject_errors"].excluded_from_availability
    series = store.probe_series(run.run_id)
    assert series and sum(p.sent for p in series) > 50
    assert [s.suite for s in store.suites(run.run_id)] == ["readiness"]


def test_a_target_that_drops_requests_during_a_deploy_fails(start_target, make_run):
    target = start_target(drill_target_config("drop-during-deploy"))
    settings = ReadinessSuiteConfig(
        probes=PATIENT_PROBES,
        deploy=DeployDrillConfig(warmup_labels=5, gate_timeout_s=5),
        restore=RestoreDrillConfig(enabled=False),
        security=SecurityDrillConfig(enabled=False),
    )
    result = readiness(make_run(target), settings)

    quiet = by_name(result)["deploy_without_failed_requests"]
    assert quiet.status is Status.FAILED
    assert "probes failed during the model deploy" in quiet.message
    assert "HTTP 503" in quiet.message
    assert measures(result)["deploy_failed_requests"] > 0
    assert measures(result)["availability"] < 0.999
    assert result.status is Status.FAILED


def test_a_broken_deploy_that_cannot_be_rolled_back_fails(start_target, make_run):
    target = start_target(drill_target_config("no-rollback"))
    settings = ReadinessSuiteConfig(
        probes=PATIENT_PROBES,
        deploy=DeployDrillConfig(warmup_labels=5, gate_timeout_s=5),
        restore=RestoreDrillConfig(enabled=False),
        security=SecurityDrillConfig(enabled=False),
    )
    result = readiness(make_run(target), settings)

    checks = by_name(result)
    assert checks["deploy_without_failed_requests"].status is Status.PASSED
    rolled = checks["broken_deploy_rolled_back"]
    assert rolled.status is Status.FAILED
    assert "no rollback happened" in rolled.message and "500" in rolled.message


def test_a_backup_restored_silently_when_truncated_fails(start_target, make_run):
    target = start_target(drill_target_config("restore-anything"))
    settings = ReadinessSuiteConfig(
        probes=PATIENT_PROBES,
        deploy=DeployDrillConfig(enabled=False, warmup_labels=20),
        security=SecurityDrillConfig(enabled=False),
    )
    result = readiness(make_run(target), settings)

    checks = by_name(result)
    assert checks["restore_is_identical"].status is Status.PASSED, checks["restore_is_identical"]
    refused = checks["corrupt_backup_refused"]
    assert refused.status is Status.FAILED
    assert "restored silently" in refused.message
    checksum = checks["backup_checksum_matches"]
    assert checksum.status is Status.FAILED
    assert "carries no SHA-256" in checksum.message


def test_an_admin_endpoint_left_open_fails(start_target, make_run):
    target = start_target(drill_target_config("open-admin"))
    settings = ReadinessSuiteConfig(
        probes=PATIENT_PROBES,
        deploy=DeployDrillConfig(enabled=False),
        restore=RestoreDrillConfig(enabled=False),
        security=QUICK_SECURITY,
    )
    result = readiness(make_run(target), settings)

    refused = by_name(result)["admin_refuses_bad_tokens"]
    assert refused.status is Status.FAILED
    assert "were not refused with 401/403" in refused.message
    assert "GET /admin/models [no token -> 200" in refused.message
    assert measures(result)["security_findings"] > 0


def test_a_leaked_token_a_crash_on_bad_json_and_an_early_exit_compare_fail(start_target, make_run):
    target = start_target(drill_target_config("leak-token", "crash-on-bad-json", "early-exit"))
    settings = ReadinessSuiteConfig(
        probes=PATIENT_PROBES,
        deploy=DeployDrillConfig(enabled=False),
        restore=RestoreDrillConfig(enabled=False),
        security=QUICK_SECURITY,
    )
    result = readiness(make_run(target), settings)

    checks = by_name(result)
    assert checks["admin_refuses_bad_tokens"].status is Status.PASSED
    leaked = checks["no_secret_leaked"]
    assert leaked.status is Status.FAILED
    assert "the answer to GET /health" in leaked.message
    crashed = checks["no_5xx_on_bad_input"]
    assert crashed.status is Status.FAILED
    assert "POST /predict [malformed json] -> 500 with a stack trace" in crashed.message
    timing = checks["token_check_constant_time"]
    assert timing.status is Status.FAILED, timing.message
    assert "exits early" in timing.message


def test_target_versions_deploy_by_recreate_and_a_version_that_exits_is_rolled_back(
    start_target, make_run
):
    config = drill_target_config()
    target = start_target(config)
    versions = {
        "v-next": TargetVersionConfig(command=config.command, env={"DRILL_VERSION": "next"}),
        "v-exits": TargetVersionConfig(command=["{python}", "-c", "raise SystemExit(3)"]),
    }
    settings = ReadinessSuiteConfig(
        probes=PATIENT_PROBES,
        deploy=DeployDrillConfig(
            warmup_labels=5, gate_timeout_s=10, versions=versions, broken_version="v-exits"
        ),
        restore=RestoreDrillConfig(enabled=False),
        security=SecurityDrillConfig(enabled=False),
    )
    result = readiness(make_run(target), settings)

    checks = by_name(result)
    assert checks["version_deploy_passes_health_gate"].status is Status.PASSED
    rolled = checks["version_broken_deploy_rolled_back"]
    assert rolled.status is Status.PASSED, rolled.message
    assert "'v-exits' never became healthy" in rolled.message
    assert "exited before it became healthy" in rolled.message
    assert "rolled back to 'v-next'" in rolled.message
    # A recreate deploy stops the old tree first: whatever failed in between is counted.
    failed = measures(result)["version_deploy_failed_requests"]
    quiet = checks["version_deploy_without_failed_requests"]
    assert (quiet.status is Status.PASSED) == (failed == 0), quiet.message
    assert target.extra_env == {"DRILL_VERSION": "next"}
