"""The system part on a real Prefect server against the real reference service.

A healthy reference passes every cross-component check and ends the cycle better than
it started; with ``--learning-enabled false`` labels no longer reach the model and the
cycle cannot adapt; with ``--self-healing-enabled false`` the checks that do not need
healing still pass while the incident and the cycle fail saying why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.system import system
from tests.integration.vigil.faults.targets import launched_reference, suite_run
from vigil.results import Status
from vigil.suites import conform_measurements
from vigil.system.settings import CycleConfig, SystemPartConfig

pytestmark = pytest.mark.integration

CROSS = {
    "feedback_reaches_the_model",
    "quality_reaches_evaluation_and_metrics",
    "incident_reaches_incidents_and_metrics",
    "config_applied_shows_in_health",
    "no_resource_leak_over_sustained_run",
}
CYCLE = "system_ends_better_than_it_started"


@pytest.fixture(autouse=True)
def _on_prefect(prefect_harness: None) -> None:
    return None


def by_name(result):
    return {c.name: c for c in result.checks}, {m.name: m for m in result.measurements}


def test_a_healthy_reference_passes_every_check_and_ends_better(tmp_path: Path) -> None:
    with launched_reference(tmp_path / "target") as target:
        run, _store = suite_run(tmp_path, target)
        result = system(run, SystemPartConfig())

    checks, measures = by_name(result)
    assert result.suite == "workflow"
    assert set(checks) == CROSS | {CYCLE}
    failed = {n: c.message for n, c in checks.items() if c.status is not Status.PASSED}
    assert failed == {}
    assert measures["cross_component_pass_rate"].value == 1.0
    assert measures["cycle_accuracy_gain"].value > 0.02
    assert measures["cycle_feedback_lost"].value == 0
    assert 0 < measures["cycle_recovery_s"].value < 10
    assert checks[CYCLE].measured["accuracy_end"] > checks[CYCLE].measured["accuracy_after_drift"]
    assert "anomalies in" in checks[CYCLE].message
    # Every measure is declared in the registry, so criteria could judge it.
    conformed = {m.name: m.unit for m in conform_measurements(result).measurements}
    assert conformed["cross_component_pass_rate"] == "share"
    assert conformed["cycle_accuracy_gain"] == "accuracy"


def test_a_reference_that_does_not_learn_fails_the_model_and_the_cycle(tmp_path: Path) -> None:
    with launched_reference(tmp_path / "target", "--learning-enabled", "false") as target:
        run, _store = suite_run(tmp_path, target)
        result = system(run, SystemPartConfig(model_probe_timeout_s=1.0))

    checks, measures = by_name(result)
    model = checks["feedback_reaches_the_model"]
    assert model.status is Status.FAILED
    assert "none of 3 labels moved the model's score" in model.message
    assert "does not learn" in model.message
    cycle = checks[CYCLE]
    assert cycle.status is Status.FAILED
    assert "did not adapt" in cycle.message
    # Held-out rows scored twice by a frozen model: exactly no gain.
    assert measures["cycle_accuracy_gain"].value == 0
    # Labels still flow to evaluation and metrics; the config still shows in health.
    assert checks["quality_reaches_evaluation_and_metrics"].status is Status.PASSED
    assert checks["config_applied_shows_in_health"].status is Status.PASSED
    assert measures["cross_component_pass_rate"].value < 1.0


def test_a_reference_that_never_heals_fails_only_where_healing_is_needed(
    tmp_path: Path,
) -> None:
    settings = SystemPartConfig(incident_timeout_s=4.0, cycle=CycleConfig(recovery_timeout_s=3.0))
    with launched_reference(tmp_path / "target", "--self-healing-enabled", "false") as target:
        run, _store = suite_run(tmp_path, target)
        result = system(run, settings)

    checks, measures = by_name(result)
    for name in (
        "feedback_reaches_the_model",
        "quality_reaches_evaluation_and_metrics",
        "config_applied_shows_in_health",
        "no_resource_leak_over_sustained_run",
    ):
        assert checks[name].status is Status.PASSED, (name, checks[name].message)
    incident = checks["incident_reaches_incidents_and_metrics"]
    assert incident.status is Status.FAILED
    assert "no incident appeared in /incidents within" in incident.message
    cycle = checks[CYCLE]
    assert cycle.status is Status.FAILED
    assert "did not serve again by itself within 3 s of the worker_kill" in cycle.message
    assert "cycle_recovery_s" not in measures
