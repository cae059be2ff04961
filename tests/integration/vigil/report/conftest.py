"""A recorded run like a real one: data saved by the generator, suites, criteria, history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from vigil.config import CriterionConfig
from vigil.criteria import Verdict, judge_all
from vigil.results import CheckResult, Measurement, Status, SuiteResult, utc_now
from vigil.store import RunStatus, Store
from vigil.synth.config import MetricsHistoryConfig
from vigil.synth.metrics import generate_metrics_history

CRITERIA = {
    "integration_pass_rate": CriterionConfig(
        description="Share of integration checks that passed.",
        suite="integration",
        measure="pass_rate",
        operator=">",
        threshold=0.95,
    ),
    "expectations_pass": CriterionConfig(
        suite="data", measure="expectations_pass_rate", operator=">=", threshold=1.0
    ),
    "learning_rows_enough": CriterionConfig(
        suite="data", measure="learning_rows", operator=">=", threshold=10
    ),
}


@dataclass
class Recorded:
    store: Store
    run_id: str
    report_dir: Path
    earlier: list[str]


def _record(store: Store, run_id: str, pass_rate: float, *, with_data: bool) -> None:
    store.begin_run(run_id, profile="development", seed=7, config={"seed": 7}, target_name="ref")
    start = utc_now()
    checks = [
        CheckResult(
            name=f"check_{i:02d}_with_a_rather_long_predicate_style_name_that_must_wrap",
            status=Status.PASSED if i else Status.FAILED,
            message="" if i else "the target answered 500 to a valid feature vector",
            started_at=start + timedelta(milliseconds=10 * i),
            finished_at=start + timedelta(milliseconds=10 * i + 7),
        )
        for i in range(4)
    ]
    checks.append(CheckResult(name="incidents_listed", status=Status.NOT_APPLICABLE))
    store.record_suite(
        run_id,
        SuiteResult(
            suite="integration",
            checks=checks,
            measurements=[Measurement(name="pass_rate", value=pass_rate)],
            started_at=start,
            finished_at=start + timedelta(seconds=2.5),
        ),
    )
    measured = [("integration", Measurement(name="pass_rate", value=pass_rate))]
    statuses = {"integration": Status.FAILED}
    if with_data:
        gx = [
            CheckResult(
                name=f"synthetic_metrics:expect_column_values_to_not_be_null:metric_{i}",
                status=Status.PASSED,
                started_at=start,
                finished_at=start + timedelta(seconds=1.25),
            )
            for i in range(30)
        ]
        store.record_suite(
            run_id,
            SuiteResult(
                suite="data",
                checks=gx,
                measurements=[Measurement(name="learning_rows", value=400, unit="rows")],
                started_at=start,
                finished_at=start + timedelta(seconds=4),
            ),
        )
        measured.append(("data", Measurement(name="learning_rows", value=400, unit="rows")))
        statuses["data"] = Status.PASSED
    store.record_criteria(run_id, judge_all(CRITERIA, measured, statuses))
    store.finish_run(run_id, status=RunStatus.COMPLETED, verdict=Verdict.FAILED)


@pytest.fixture
def recorded(tmp_path: Path) -> Recorded:
    """Three earlier runs, then one whose data suite saved 14 days of real synthetic data."""
    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    earlier = []
    for index, rate in enumerate((0.99, 0.97, 0.9)):
        run_id = f"run-earlier-{index}"
        _record(store, run_id, rate, with_data=False)
        earlier.append(run_id)
    report_dir = tmp_path / "reports" / "run-now"
    history = generate_metrics_history(MetricsHistoryConfig(days=14), seed=7)
    data = report_dir / "data"
    data.mkdir(parents=True)
    history.frame.to_parquet(data / "metrics_history.parquet", index=False)
    history.labels_frame().to_parquet(data / "metrics_labels.parquet", index=False)
    _record(store, "run-now", 0.75, with_data=True)
    return Recorded(store=store, run_id="run-now", report_dir=report_dir, earlier=earlier)
