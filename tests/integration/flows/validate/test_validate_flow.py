"""The validate flow on a real Prefect server, against real services, with a real store."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest

from flows.validate import RunSummary, validate
from tests.configs import contract_only, merge_overrides
from tests.configs import write_config as write_yaml
from vigil.criteria import Verdict
from vigil.results import Status
from vigil.store import RunStatus, Store

pytestmark = pytest.mark.integration

BREAKER = Path(__file__).with_name("contract_breaker.py")
UNMEASURED = {
    "expectations_pass": {
        "description": "Measured by the data suite, which these runs switch off.",
        "suite": "data",
        "measure": "expectations_pass_rate",
        "operator": ">=",
        "threshold": 1.0,
    }
}
"""A criterion no suite of these runs measures, so that the verdict is incomplete."""


def write_config(tmp_path: Path, **overrides: object) -> Path:
    """Only the integration suite (the flow's behaviour is the point), its criterion alone."""
    base = contract_only(
        tmp_path,
        reports={"dir": str(tmp_path / "reports")},
        suites={"data": {"enabled": False}, "integration": {"feedback_rounds": 20}},
    )
    return write_yaml(tmp_path, merge_overrides(base, overrides))


def processes_under(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if str(folder) in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def assert_no_process_left(folder: Path) -> None:
    deadline = time.monotonic() + 20
    while processes_under(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_under(folder) == []


def run_validate(config: Path, **parameters: object) -> tuple[object, RunSummary]:
    """Run the flow; return its final Prefect state and the summary it carries."""
    state = validate(config_path=str(config), return_state=True, **parameters)
    summary = state.result(raise_on_failure=False)
    assert isinstance(summary, RunSummary), summary
    return state, summary


def test_an_incomplete_verdict_fails_the_flow_run_and_says_why(tmp_path: Path) -> None:
    state, summary = run_validate(write_config(tmp_path, criteria=UNMEASURED))

    assert summary.verdict is Verdict.INCOMPLETE
    assert state.is_failed()
    assert state.message.startswith("verdict incomplete: ")
    assert "expectations_pass not_evaluated" in state.message
    assert "suite 'data' did not run" in state.message
    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    run = store.get_run(summary.run_id)
    assert (run.status, run.verdict) == (RunStatus.COMPLETED, "incomplete")
    [suite] = store.suites(summary.run_id)
    assert suite.suite == "integration"
    assert {c.name: c.status for c in suite.checks} == {
        "health_reports_ok": Status.PASSED,
        "metrics_exposed_in_prometheus_format": Status.PASSED,
        "predictions_served": Status.PASSED,
        "feedback_accepted": Status.PASSED,
        "evaluation_count_matches_feedback": Status.PASSED,
        "model_version_reported": Status.PASSED,
        "bad_requests_rejected_with_4xx": Status.PASSED,
    }
    counted = next(c for c in suite.checks if c.name == "evaluation_count_matches_feedback")
    assert counted.measured == {"count_rise": 20.0, "labels_accepted": 20.0}
    criteria = {c.name: c.status for c in store.criteria(summary.run_id)}
    assert criteria["integration_pass_rate"] == "passed"
    assert criteria["expectations_pass"] == "not_evaluated"

    report = json.loads((summary.report_dir / "report.json").read_text())
    assert report["verdict"] == "incomplete"
    assert report["suites"]["integration"]["status"] == "passed"
    for name in ("report.html", "results.csv", "junit.xml"):
        assert (summary.report_dir / name).stat().st_size > 0
    assert_no_process_left(tmp_path / "work")


def test_a_passed_verdict_completes_the_flow_run(tmp_path: Path) -> None:
    # An earlier, finished run left its target folder; keeping no finished run's folder
    # removes it when this run starts, and this run's own folder stays.
    earlier = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    earlier.begin_run("20261130T000000-old000", profile="development", seed=0, config={})
    earlier.finish_run("20261130T000000-old000", status=RunStatus.COMPLETED, verdict=None)
    earlier.close()
    old_folder = tmp_path / "work" / "targets" / "20261130T000000-old000"
    old_folder.mkdir(parents=True)

    state, summary = run_validate(write_config(tmp_path, keep_target_dirs=0))
    assert summary.verdict is Verdict.PASSED
    assert state.is_completed(), state.message
    assert [p.name for p in (tmp_path / "work" / "targets").iterdir()] == [summary.run_id]


def test_a_target_that_breaks_the_contract_fails(tmp_path: Path) -> None:
    breaker = {
        "kind": "process",
        "name": "breaker",
        "command": ["{python}", str(BREAKER), "{port}"],
        "capabilities": ["health", "metrics", "predict", "feedback", "evaluation"],
    }
    state, summary = run_validate(write_config(tmp_path, target=breaker))

    assert summary.verdict is Verdict.FAILED
    assert state.is_failed()
    assert state.message.startswith("verdict failed: integration_pass_rate failed (pass_rate =")
    [suite] = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}").suites(summary.run_id)
    checks = {c.name: c for c in suite.checks}
    assert checks["evaluation_count_matches_feedback"].status is Status.FAILED
    assert (
        "count rose by 10, 20 labels were accepted"
        in checks["evaluation_count_matches_feedback"].message
    )
    assert checks["bad_requests_rejected_with_4xx"].status is Status.FAILED
    assert "malformed_json: 500" in checks["bad_requests_rejected_with_4xx"].message
    assert checks["predictions_served"].status is Status.PASSED
    assert_no_process_left(tmp_path)


def test_data_suite_records_every_expectation_and_saves_the_data(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        suites={
            "data": {"metrics": {"days": 14}, "learning": {"days": 30, "rows_per_day": 40}},
            "integration": {"enabled": False},
        },
    )
    _, summary = run_validate(config)

    [suite] = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}").suites(summary.run_id)
    assert suite.suite == "data" and suite.status is Status.PASSED
    names = [c.name for c in suite.checks]
    assert any(n.startswith("synthetic_metrics:expect_column_autocorrelation") for n in names)
    assert any(n.startswith("synthetic_metric_labels:") for n in names)
    measured = {m.name: m.value for m in suite.measurements}
    assert measured["expectations_pass_rate"] == 1.0
    assert measured["metrics_samples"] == 14 * 24 * 60
    assert measured["learning_rows"] == 30 * 40
    for name in ("metrics_history.parquet", "metrics_labels.parquet", "learning_stream.parquet"):
        assert (summary.report_dir / "data" / name).stat().st_size > 0
    assert (summary.report_dir / "data_docs" / "index.html").exists()


def test_a_target_that_cannot_start_is_an_error_with_a_report(tmp_path: Path) -> None:
    broken = {
        "kind": "process",
        "name": "broken",
        "command": ["{python}", "-c", "raise SystemExit('cannot bind: port in use')"],
    }
    state, summary = run_validate(write_config(tmp_path, target=broken))

    assert summary.verdict is Verdict.ERROR
    assert state.is_failed()
    assert state.message.startswith("verdict error: TargetUnavailableError: ")
    run = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}").get_run(summary.run_id)
    assert run.status == RunStatus.ERROR
    assert "TargetUnavailableError" in run.error and "cannot bind: port in use" in run.error
    report = json.loads((summary.report_dir / "report.json").read_text())
    assert report["verdict"] == "error"
    assert report["suites"] == {}


def test_unknown_suite_is_a_configuration_error(tmp_path: Path) -> None:
    from vigil.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown suite"):
        validate(config_path=str(write_config(tmp_path)), suites=["performanse"])
