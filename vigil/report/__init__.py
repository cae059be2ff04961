"""Reports of a run: JSON, HTML, CSV and JUnit XML, all formatted from the store."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from vigil.report.evidence import load_evidence
from vigil.report.html import SUITE_CHARTS, write_html
from vigil.report.model import RunReport, build_run_report
from vigil.report.tabular import write_csv, write_json, write_junit
from vigil.store import Store

REPORT_FILES = {
    "report.json": write_json,
    "report.html": write_html,
    "results.csv": write_csv,
    "junit.xml": write_junit,
}


def write_reports(store: Store, run_id: str, directory: Path) -> list[Path]:
    """Write every report of `run_id` into `directory`; return the files written.

    Each file is written to a temporary name and renamed, so a reader never
    sees half a report.
    """
    report = build_run_report(store, run_id)
    directory.mkdir(parents=True, exist_ok=True)
    writers = dict(REPORT_FILES)
    writers["report.html"] = partial(
        write_html, evidence=load_evidence(store, report.run_id, directory)
    )
    written = []
    for name, writer in writers.items():
        final = directory / name
        unfinished = directory / f".{name}.partial"
        writer(report, unfinished)
        unfinished.replace(final)
        written.append(final)
    return written


__all__ = ["REPORT_FILES", "SUITE_CHARTS", "RunReport", "build_run_report", "write_reports"]
