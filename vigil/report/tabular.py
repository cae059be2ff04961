"""Machine-readable reports: JSON, CSV and JUnit XML."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from vigil.criteria import CriterionStatus
from vigil.report.model import RunReport
from vigil.results import Status

_JUNIT_OUTCOME = {Status.FAILED: "failure", Status.ERROR: "error", Status.NOT_APPLICABLE: "skipped"}


def write_json(report: RunReport, path: Path) -> Path:
    """Write ``report.json``; it validates against ``report.schema.json``."""
    data = report.model_dump(mode="json")
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def write_csv(report: RunReport, path: Path) -> Path:
    """Write ``results.csv``: one row per check, measurement and criterion."""
    columns = ["run_id", "kind", "suite", "name", "status", "value", "threshold", "unit", "message"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        base = {"run_id": report.run_id}
        for suite in report.suites.values():
            for check in suite.checks:
                writer.writerow(
                    base
                    | {
                        "kind": "check",
                        "suite": suite.suite,
                        "name": check.name,
                        "status": check.status.value,
                        "message": check.message,
                    }
                )
            for m in suite.measurements:
                writer.writerow(
                    base
                    | {
                        "kind": "measurement",
                        "suite": suite.suite,
                        "name": m.name,
                        "value": m.value,
                        "unit": m.unit,
                    }
                )
        for c in report.criteria:
            writer.writerow(
                base
                | {
                    "kind": "criterion",
                    "suite": c.suite,
                    "name": c.name,
                    "status": c.status,
                    "value": "" if c.measured is None else c.measured,
                    "threshold": f"{c.operator} {c.threshold:g}",
                    "unit": c.unit,
                    "message": c.message,
                }
            )
    return path


def _seconds(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return max((end - start).total_seconds(), 0.0)


def _totals(element: ET.Element, counts: dict[str, int], seconds: float) -> None:
    element.attrib.update({k: str(v) for k, v in counts.items()})
    element.set("time", f"{seconds:.3f}")


def write_junit(report: RunReport, path: Path) -> Path:
    """Write ``junit.xml``: a testsuite per suite plus one for the criteria, totals on the root.

    What CI reporters must read right: a criterion that was not evaluated is a *failure*
    (it makes the run exit non-zero), never ``<skipped>``; only a check the target cannot
    undergo (``not_applicable``) is skipped. Each check's time is its own span; a criterion's
    is the duration of the suite that produced its measure (0 when that suite did not run).
    """
    root = ET.Element("testsuites", name=f"vigil {report.run_id}")
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def case(parent: ET.Element, classname: str, name: str, seconds: float) -> ET.Element:
        total["tests"] += 1
        counts = parent.attrib
        counts["tests"] = str(int(counts.get("tests", "0")) + 1)
        return ET.SubElement(
            parent, "testcase", classname=classname, name=name, time=f"{seconds:.3f}"
        )

    def outcome(parent: ET.Element, element: ET.Element, kind: str, message: str) -> None:
        ET.SubElement(element, kind, message=message, type=kind).text = message
        key = {"failure": "failures", "error": "errors", "skipped": "skipped"}[kind]
        total[key] += 1
        parent.set(key, str(int(parent.get(key, "0")) + 1))

    for suite in report.suites.values():
        element = ET.SubElement(
            root,
            "testsuite",
            name=suite.suite,
            timestamp=suite.started_at.isoformat(timespec="seconds"),
            tests="0",
            failures="0",
            errors="0",
            skipped="0",
            time=f"{_seconds(suite.started_at, suite.finished_at):.3f}",
        )
        for check in suite.checks:
            tc = case(
                element,
                f"vigil.{suite.suite}",
                check.name,
                _seconds(check.started_at, check.finished_at),
            )
            kind = _JUNIT_OUTCOME.get(check.status)
            if kind:
                outcome(element, tc, kind, check.message or check.status.value)

    durations = {s.suite: _seconds(s.started_at, s.finished_at) for s in report.suites.values()}
    criteria = ET.SubElement(
        root, "testsuite", name="criteria", tests="0", failures="0", errors="0", skipped="0"
    )
    for c in report.criteria:
        tc = case(criteria, "vigil.criteria", c.name, durations.get(c.suite, 0.0))
        if c.status is CriterionStatus.FAILED:
            outcome(criteria, tc, "failure", c.message)
        elif c.status is CriterionStatus.NOT_EVALUATED:
            outcome(criteria, tc, "failure", f"not evaluated: {c.message}")
    criteria.set("time", f"{sum(durations.get(c.suite, 0.0) for c in report.criteria):.3f}")
    if report.error:
        # An infrastructure error is one more case, so that a reporter never shows green.
        tc = case(criteria, "vigil.run", "run_completed_without_infrastructure_error", 0.0)
        outcome(criteria, tc, "error", report.error)
    _totals(root, total, _seconds(report.started_at, report.finished_at))
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
