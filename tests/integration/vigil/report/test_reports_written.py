"""Reports are formatted from the store: JSON, CSV, JUnit XML and self-contained HTML."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from vigil.config import CriterionConfig
from vigil.criteria import Verdict, judge_all
from vigil.report import write_reports
from vigil.results import CheckResult, Measurement, Severity, Status, SuiteResult
from vigil.store import RunStatus, Store

pytestmark = pytest.mark.integration


def recorded_run(tmp_path: Path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    store.begin_run("run-r", profile="staging", seed=9, config={"seed": 9}, target_name="svc")
    store.record_suite(
        "run-r",
        SuiteResult(
            suite="integration",
            checks=[
                CheckResult(name="health_reports_ok", status=Status.PASSED, measured={"ms": 3.5}),
                CheckResult(name="feedback_accepted", status=Status.FAILED, message="2 refused"),
                CheckResult(name="incidents_listed", status=Status.NOT_APPLICABLE),
                CheckResult(name="slow_probe", status=Status.ERROR, severity=Severity.WARN),
            ],
            measurements=[Measurement(name="pass_rate", value=0.5)],
        ),
    )
    criteria = {
        "integration_pass_rate": CriterionConfig(
            suite="integration", measure="pass_rate", operator=">", threshold=0.95
        ),
        "expectations_pass": CriterionConfig(
            suite="data", measure="expectations_pass_rate", operator=">=", threshold=1.0
        ),
    }
    outcomes = judge_all(
        criteria,
        [("integration", Measurement(name="pass_rate", value=0.5))],
        {"integration": "failed"},
    )
    store.record_criteria("run-r", outcomes)
    store.finish_run("run-r", status=RunStatus.COMPLETED, verdict=Verdict.FAILED)
    return store


def test_every_report_is_written_from_the_store(tmp_path: Path) -> None:
    store = recorded_run(tmp_path)
    written = write_reports(store, "run-r", tmp_path / "out")
    assert sorted(p.name for p in written) == [
        "junit.xml",
        "report.html",
        "report.json",
        "results.csv",
    ]
    assert not list((tmp_path / "out").glob(".*partial"))

    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["run_id"], report["verdict"], report["seed"]) == ("run-r", "failed", 9)
    suite = report["suites"]["integration"]
    assert suite["status"] == "failed"
    assert suite["pass_rate"] == 1 / 3  # the not-applicable check does not count
    assert [c["status"] for c in report["criteria"]] == ["failed", "not_evaluated"]

    rows = list(csv.DictReader((tmp_path / "out" / "results.csv").open()))
    kinds = [r["kind"] for r in rows]
    assert kinds.count("check") == 4 and kinds.count("criterion") == 2
    assert kinds.count("measurement") == 1

    root = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    integration = root.find("testsuite[@name='integration']")
    counts = {k: integration.attrib[k] for k in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": "4", "failures": "1", "errors": "1", "skipped": "1"}
    failure = integration.find("testcase[@name='feedback_accepted']/failure")
    assert failure.attrib["message"] == "2 refused"
    criteria = root.find("testsuite[@name='criteria']")
    # not_evaluated is a failure (the run exits 1), never a skip.
    assert (criteria.attrib["failures"], criteria.attrib["skipped"]) == ("2", "0")

    html = (tmp_path / "out" / "report.html").read_text()
    assert "vigil run run-r" in html and ">failed<" in html
    assert "<script src=" not in html  # plotly.js inlined: opens offline


def test_html_escapes_what_the_target_said(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    store.begin_run("run-x", profile="development", seed=1, config={})
    store.record_suite(
        "run-x",
        SuiteResult(
            suite="integration",
            checks=[
                CheckResult(name="c", status=Status.FAILED, message="<script>alert(1)</script>")
            ],
        ),
    )
    write_reports(store, "run-x", tmp_path / "x")
    html = (tmp_path / "x" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
