"""Great Expectations checks carry the real span of their validation, so JUnit shows time."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from vigil.report import write_reports
from vigil.results import SuiteResult
from vigil.store import Store
from vigil.synth.config import MetricsHistoryConfig
from vigil.synth.metrics import generate_metrics_history

pytestmark = pytest.mark.integration


def test_every_expectation_check_spans_its_validation_and_junit_shows_it(
    tmp_path: Path,
) -> None:
    from expectations.runner import validate_frame

    config = MetricsHistoryConfig(days=3)
    history = generate_metrics_history(config, seed=3)
    report = validate_frame(
        history.frame, "synthetic_metrics", resolution_seconds=config.resolution_seconds
    )
    assert report.checks
    spans = {(c.started_at, c.finished_at) for c in report.checks}
    assert len(spans) == 1, "one GX validation: every check carries its span"
    [(started, finished)] = spans
    assert finished > started

    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    store.begin_run("run-gx", profile="development", seed=3, config={})
    store.record_suite(
        "run-gx",
        SuiteResult(suite="data", checks=report.checks, started_at=started, finished_at=finished),
    )
    write_reports(store, "run-gx", tmp_path / "out")
    root = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    times = [float(case.get("time")) for case in root.iter("testcase")]
    assert len(times) == len(report.checks)
    assert all(t > 0 for t in times), times
