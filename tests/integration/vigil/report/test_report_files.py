"""report.json against its committed schema, junit.xml as CI reporters read it, report.html."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from tests.integration.vigil.report.conftest import Recorded
from tests.integration.vigil.report.report_schema import validate_report_json
from vigil.report import write_reports
from vigil.report.evidence import downsample
from vigil.report.schema import SCHEMA_PATH, schema_text

pytestmark = pytest.mark.integration


def test_the_committed_schema_is_the_one_the_model_generates() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "vigil/report/report.schema.json is stale: run `python -m vigil.report.schema`"
    )


def test_report_json_validates_and_a_broken_one_does_not(recorded: Recorded) -> None:
    write_reports(recorded.store, recorded.run_id, recorded.report_dir)
    path = recorded.report_dir / "report.json"
    report = validate_report_json(path)
    assert report["suites"]["integration"]["status"] == "failed"
    assert report["suites"]["integration"]["pass_rate"] == 0.75

    broken = json.loads(path.read_text())
    broken["suites"]["integration"]["status"] = "mostly fine"
    del broken["criteria"][0]["threshold"]
    path.write_text(json.dumps(broken))
    with pytest.raises(jsonschema.ValidationError):
        validate_report_json(path)


def test_junit_counts_not_evaluated_as_failures_with_real_times_and_root_totals(
    recorded: Recorded,
) -> None:
    write_reports(recorded.store, recorded.run_id, recorded.report_dir)
    root = ET.parse(recorded.report_dir / "junit.xml").getroot()

    cases = list(root.iter("testcase"))
    # One case per check (5 integration + 30 data) and per criterion (3).
    assert len(cases) == 38
    assert root.attrib["tests"] == "38"
    assert root.attrib["failures"] == "3"  # one check, one failed and one unevaluated criterion
    assert (root.attrib["errors"], root.attrib["skipped"]) == ("0", "1")
    assert float(root.attrib["time"]) >= 0
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert float(suites["integration"].get("time")) == 2.5
    assert suites["integration"].get("timestamp")

    criteria = {c.get("name"): c for c in suites["criteria"].findall("testcase")}
    unevaluated = criteria["expectations_pass"].find("failure")
    assert unevaluated is not None, "not_evaluated must be a failure, never skipped"
    assert unevaluated.get("message").startswith("not evaluated: ")
    assert suites["criteria"].find("testcase/skipped") is None
    assert float(criteria["integration_pass_rate"].get("time")) == 2.5
    assert float(criteria["learning_rows_enough"].get("time")) == 4.0
    assert criteria["learning_rows_enough"].find("failure") is None

    times = {c.get("name"): float(c.get("time")) for c in suites["integration"]}
    assert times["check_01_with_a_rather_long_predicate_style_name_that_must_wrap"] == 0.007
    assert {float(c.get("time")) for c in suites["data"]} == {1.25}
    # The not-applicable check is the only skipped case.
    [skipped] = [c for c in cases if c.find("skipped") is not None]
    assert skipped.get("name") == "incidents_listed"


def test_html_puts_the_verdict_first_and_carries_one_plotly_copy(recorded: Recorded) -> None:
    write_reports(recorded.store, recorded.run_id, recorded.report_dir)
    html = (recorded.report_dir / "report.html").read_text(encoding="utf-8")

    order = [
        html.index("class='verdict'"),
        html.index("<h2>Summary</h2>"),
        html.index("<h2>Success criteria</h2>"),
        html.index("<h2>Trends across runs</h2>"),
        html.index("<h2>Suite integration"),
        html.index("<h2>Suite data"),
    ]
    assert order == sorted(order)
    assert "FAILED" in html[: html.index("<h2>Summary</h2>")]
    summary = html[html.index("<h2>Summary</h2>") : html.index("<h2>Success criteria</h2>")]
    assert "integration_pass_rate" in summary and "expectations_pass" in summary
    assert "the target answered 500" not in summary  # checks' detail stays in the suites
    assert html.count("id='vigil-plotly'") == 1
    assert "<script src=" not in html and "http://" not in html.split("id='vigil-plotly'")[0]
    # The 30 expectations are one collapsed group, not 30 rows in the page's flow.
    assert re.search(r"<details><summary>synthetic_metrics: 30 checks", html)
    # A group with a failure opens by itself.
    assert re.search(r"<details open><summary>checks: 5 checks \(1 not passed\)", html)
    charts = json.loads(re.search(r"id='vigil-charts'>(.*?)</script>", html, re.DOTALL).group(1))
    titles = [c["layout"]["title"]["text"] for c in charts]
    assert any(t.startswith("Synthetic metrics:") for t in titles), titles
    trend = next(c for c in charts if c["layout"]["title"]["text"].startswith("integration_pass"))
    assert trend["data"][0]["y"] == [0.99, 0.97, 0.9, 0.75]
    assert len(html) < 2_600_000, len(html)


def test_downsampling_keeps_a_spike() -> None:
    values = [1.0] * 10_000
    values[4321] = 50.0
    kept = downsample(values, max_points=100)
    assert len(kept) == 100
    assert 4321 in kept
    assert downsample([1.0, 2.0], max_points=100) == [0, 1]
