"""Machine-readable reports: JSON, CSV and JUnit XML."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from xml.etree import ElementTree as ET

from vigil.criteria import CriterionStatus
from vigil.report.model import RunReport
from vigil.results import Status

_JUNIT_OUTCOME = {Status.FAILED: "failure", Status.ERROR: "error", Status.NOT_APPLICABLE: "skipped"}


def write_json(report: RunReport, path: Path) -> Path:
    """Write ``report.json``: the report with the suites' derived statuses."""
    data = report.model_dump(mode="json")
    for name, suite in report.suites.items():
        data["suites"][name]["status"] = suite.status.value
        data["suites"][name]["pass_rate"] = suite.pass_rate
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


def write_junit(report: RunReport, path: Path) -> Path:
    """Write ``junit.xml``: a testsuite per suite plus one for the criteria."""
    root = ET.Element("testsuites", name=f"vigil {report.run_id}")
    for suite in report.suites.values():
        element = ET.SubElement(root, "testsuite", name=suite.suite)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for check in suite.checks:
            seconds = (check.finished_at - check.started_at).total_seconds()
            case = ET.SubElement(
                element,
                "testcase",
                classname=f"vigil.{suite.suite}",
                name=check.name,
                time=f"{max(seconds, 0):.3f}",
            )
            counts["tests"] += 1
            outcome = _JUNIT_OUTCOME.get(check.status)
            if outcome:
                ET.SubElement(case, outcome, message=check.message)
                counts[{"failure": "failures", "error": "errors"}.get(outcome, "skipped")] += 1
        element.attrib.update({k: str(v) for k, v in counts.items()})
    criteria = ET.SubElement(root, "testsuite", name="criteria")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for c in report.criteria:
        case = ET.SubElement(criteria, "testcase", classname="vigil.criteria", name=c.name)
        counts["tests"] += 1
        if c.status is CriterionStatus.FAILED:
            ET.SubElement(case, "failure", message=c.message)
            counts["failures"] += 1
        elif c.status is CriterionStatus.NOT_EVALUATED:
            ET.SubElement(case, "skipped", message=c.message)
            counts["skipped"] += 1
    criteria.attrib.update({k: str(v) for k, v in counts.items()})
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
