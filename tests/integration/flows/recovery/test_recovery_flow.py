"""The recovery part on a real Prefect server against the real reference service.

A healthy reference heals a killed and a hung worker by itself and passes; with
``--self-healing-enabled false`` the same faults stay until vigil's rollback, and
the part is judged failed on MTTR with a message that says why.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.recovery import recovery
from tests.integration.vigil.faults.targets import launched_reference, suite_run
from vigil.config import CriterionConfig
from vigil.criteria import CriterionStatus, judge
from vigil.faults.config import RecoveryPartConfig
from vigil.results import Status

pytestmark = pytest.mark.integration

MTTR = CriterionConfig(suite="workflow", measure="mttr_s", operator="<", threshold=300, unit="s")


@pytest.fixture(autouse=True)
def _on_prefect(prefect_harness: None) -> None:
    return None


def by_name(result):
    return {c.name: c for c in result.checks}, {m.name: m for m in result.measurements}


def test_a_healthy_reference_heals_itself_within_budget(tmp_path: Path) -> None:
    with launched_reference(tmp_path / "target") as target:
        run, store = suite_run(tmp_path, target)
        result = recovery(run, RecoveryPartConfig())
        incidents = store.incidents(run.run_id)

    checks, measures = by_name(result)
    assert result.suite == "workflow"
    failed = {n: c.message for n, c in checks.items() if c.status is not Status.PASSED}
    assert failed == {}
    assert 0 < measures["mttr_s"].value < 30
    assert measures["mttr_s"].unit == "s"
    assert measures["diagnosis_accuracy"].value == 1.0
    assert measures["self_healed_share"].value == 1.0
    assert measures["feedback_lost"].value == 0
    assert measures["mean_time_to_detect_s"].value > 0
    assert (
        judge(
            "mttr_within_budget",
            MTTR,
            {("workflow", "mttr_s"): measures["mttr_s"]},
            {"workflow": "passed"},
        ).status
        is CriterionStatus.PASSED
    )
    # Every injection is in vigil's store with the target's diagnosis.
    assert [(i.fault, i.expected_kind, i.reported_kind) for i in incidents] == [
        ("worker_kill", "worker_crash", "worker_crash"),
        ("worker_hang", "worker_hang", "worker_hang"),
    ]
    assert all(
        i.detected_at and i.recovered_at and i.recovered_at > i.injected_at for i in incidents
    )


def test_a_reference_that_never_heals_fails_mttr_saying_so(tmp_path: Path) -> None:
    scenario = tmp_path / "hang.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {
                "name": "hang_only",
                "traffic": {"rate_per_s": 5, "max_pairs": 200},
                "faults": [
                    {
                        "fault": {
                            "kind": "process_hang",
                            "label": "worker_hang",
                            "expect": "worker_hang",
                            "max_duration_s": 5,
                        }
                    }
                ],
            }
        )
    )
    with launched_reference(tmp_path / "target", "--self-healing-enabled", "false") as target:
        run, _ = suite_run(tmp_path, target)
        result = recovery(run, RecoveryPartConfig(scenario=str(scenario)))
        # vigil's rollback (SIGCONT) left the target working for whatever runs next.
        assert target.endpoint and target.main_process().is_running()

    checks, measures = by_name(result)
    assert result.status is Status.FAILED
    assert measures["mttr_s"].value == 600
    assert measures["mttr_s"].context["not_self_healed"] == "worker_hang"
    assert measures["self_healed_share"].value == 0.0
    assert checks["heals_itself"].status is Status.FAILED
    assert "worker_hang (process_hang) was not healed by the target itself" in (
        checks["heals_itself"].message
    )
    assert "vigil's rollback restored it" in checks["heals_itself"].message
    assert checks["recovers_within_budget"].status is Status.FAILED
    assert "mttr_s is counted as 600 s" in checks["recovers_within_budget"].message
    outcome = judge(
        "mttr_within_budget",
        MTTR,
        {("workflow", "mttr_s"): measures["mttr_s"]},
        {"workflow": "failed"},
    )
    assert outcome.status is CriterionStatus.FAILED
    assert "misses" in outcome.message


def test_the_integration_self_healing_check_passes_a_healthy_reference_and_fails_a_frozen_one(
    tmp_path: Path,
) -> None:
    from vigil.faults.checks import worker_crash_is_healed

    with launched_reference(tmp_path / "healthy") as target:
        check = worker_crash_is_healed(target.endpoint, target)
    assert check.status is Status.PASSED, check.message
    assert "diagnosed as worker_crash and healed (restart_worker)" in check.message
    with launched_reference(tmp_path / "frozen", "--self-healing-enabled", "false") as target:
        check = worker_crash_is_healed(target.endpoint, target, within_s=4)
        assert target.main_process().is_running()
    assert check.status is Status.FAILED
    assert "was not healed within 4 s" in check.message
    assert "vigil restarted the target" in check.message
