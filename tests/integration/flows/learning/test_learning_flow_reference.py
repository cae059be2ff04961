"""The learning part against the real reference service: it learns, and a frozen one fails.

Real processes on 127.0.0.1, real HTTP, the real Prefect harness, real Great
Expectations and a real SQLite store. The frozen service is the reference with
``--learning-enabled false``: it stores, scores and counts every label but never
learns from one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from flows.learning import learning
from tests.integration.reference.conftest import ReferenceService, start_service, stop_service
from vigil.config import HTTP_CAPABILITIES, Capability, CriterionConfig, StoreConfig
from vigil.criteria import CriterionStatus, judge
from vigil.results import CheckResult, Status, SuiteResult
from vigil.run import SuiteRun, new_run_id
from vigil.scoring.learning_settings import LearningPartConfig
from vigil.store import Store, learning_curve
from vigil.synth.config import DataConfig, LearningStreamConfig
from vigil.targets.base import TargetEndpoint

pytestmark = pytest.mark.integration

SEED = 20261121
# The criterion as vigil/defaults.yaml declares it. Built without validation: the registry
# check of its suite name needs the workflow suite, which the lead's workflow flow registers.
CRITERION = CriterionConfig.model_construct(
    description="Lower bound of the 95 % confidence interval of the 30-day accuracy gain.",
    suite="workflow",
    measure="learning_improvement_ci_low",
    operator=">",
    threshold=0.0,
    unit="accuracy",
)


@pytest.fixture()
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReferenceService]:
    started = start_service(tmp_path / "reference", *request.param)
    try:
        yield started
    finally:
        stop_service(started)


def _run(service: ReferenceService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SuiteRun:
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    run_id = new_run_id()
    store = StoreConfig(url=f"sqlite:///{tmp_path / 'vigil.db'}")
    Store.open(store.resolved_url()).begin_run(run_id, profile="development", seed=SEED, config={})
    return SuiteRun(
        run_id=run_id,
        profile="development",
        seed=SEED,
        store=store,
        report_dir=tmp_path / "reports" / run_id,
        endpoint=TargetEndpoint(
            name="reference",
            kind="http",
            base_url=service.base_url,
            capabilities=HTTP_CAPABILITIES,
        ),
        datasets=DataConfig(learning=LearningStreamConfig(rows_per_day=200)),
    )


def _checks(result: SuiteResult) -> dict[str, CheckResult]:
    return {check.name: check for check in result.checks}


def _criterion(result: SuiteResult):
    measured = {(result.suite, m.name): m for m in result.measurements}
    return judge("learning_improves_over_30_days", CRITERION, measured, {"workflow": result.status})


@pytest.mark.parametrize("service", [()], indirect=True, ids=["learning"])
def test_the_learning_reference_improves_measurably_and_passes(
    service: ReferenceService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefect_harness: None,
) -> None:
    run = _run(service, tmp_path, monkeypatch)
    began = time.monotonic()
    result = learning(run, LearningPartConfig())
    took = time.monotonic() - began
    checks = _checks(result)
    for name in (
        "every_row_replayed",
        "learning_improves_over_30_days",
        "evaluation_agrees_with_vigil",
        "learning_table_meets_expectations",
    ):
        assert checks[name].status is Status.PASSED, f"{name}: {checks[name].message}"
    assert result.suite == "workflow" and result.status is Status.PASSED, [
        (c.name, c.message) for c in result.checks if c.counts_as_failure
    ]
    measured = {m.name: m for m in result.measurements}
    assert measured["learning_improvement_ci_low"].value > 0
    assert measured["learning_improvement"].value > measured["learning_improvement_ci_low"].value
    assert measured["evaluation_gap"].value <= 0.01
    assert 0 <= measured["learning_trend_p"].value <= 1
    assert measured["learning_adaptation_days"].unit == "days"
    outcome = _criterion(result)
    assert outcome.status is CriterionStatus.PASSED, outcome.message

    curve = pd.read_parquet(run.report_dir / "data" / "learning_curve.parquet")
    assert curve["day"].tolist() == list(range(30))
    assert curve["count"].sum() == 6000
    stored = learning_curve(Store.open(run.store.resolved_url()), run.run_id)
    assert [row.day for row in stored] == list(range(30))
    assert stored[-1].accuracy == pytest.approx(curve["accuracy"].iloc[-1])
    print(f"learning part took {took:.1f} s: {checks['every_row_replayed'].message}")


@pytest.mark.parametrize(
    "service", [("--learning-enabled", "false")], indirect=True, ids=["frozen"]
)
def test_a_reference_that_never_learns_fails_learning_improves_over_30_days(
    service: ReferenceService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefect_harness: None,
) -> None:
    run = _run(service, tmp_path, monkeypatch)
    result = learning(run, LearningPartConfig())
    checks = _checks(result)
    improves = checks["learning_improves_over_30_days"]
    assert improves.status is Status.FAILED
    assert improves.message.startswith(
        "no measurable improvement: accuracy of days 23-29 minus days 0-6:"
    )
    assert "its lower bound is not above 0" in improves.message
    assert result.status is Status.FAILED
    # Labels were still stored, scored and counted: only the learning is missing.
    assert checks["every_row_replayed"].status is Status.PASSED
    assert checks["evaluation_agrees_with_vigil"].status is Status.PASSED, checks[
        "evaluation_agrees_with_vigil"
    ].message
    outcome = _criterion(result)
    assert outcome.status is CriterionStatus.FAILED
    assert outcome.message.startswith("learning_improvement_ci_low = -")
    assert outcome.message.endswith("accuracy misses > 0 accuracy")


def _closed_port_run(tmp_path: Path, capabilities: frozenset) -> SuiteRun:
    from tests.integration.reference.conftest import free_port

    return SuiteRun(
        run_id=new_run_id(),
        profile="development",
        seed=SEED,
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'vigil.db'}"),
        report_dir=tmp_path / "reports",
        endpoint=TargetEndpoint(
            name="nothing",
            kind="http",
            base_url=f"http://127.0.0.1:{free_port()}",
            request_timeout_s=2,
            capabilities=capabilities,
        ),
        datasets=DataConfig(learning=LearningStreamConfig(rows_per_day=10, days=3)),
    )


def test_a_target_without_feedback_is_not_applicable_and_never_counts_as_passed(
    tmp_path: Path, prefect_harness: None
) -> None:
    no_feedback = frozenset(HTTP_CAPABILITIES - {Capability.FEEDBACK})
    result = learning(_closed_port_run(tmp_path, no_feedback), LearningPartConfig())
    assert result.status is Status.NOT_APPLICABLE
    assert result.measurements == []
    assert all("lacks the feedback capability" in check.message for check in result.checks)


def test_an_unreachable_target_is_an_error_that_names_it(
    tmp_path: Path, prefect_harness: None
) -> None:
    run = _closed_port_run(tmp_path, HTTP_CAPABILITIES)
    result = learning(run, LearningPartConfig())
    assert result.status is Status.ERROR
    [check] = result.checks
    assert check.message.startswith("the learning replay could not talk to the target: GET ")
    assert run.endpoint.base_url in check.message
