"""The pure parts of reporting: verdict markdown, progress, trends, check grouping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from vigil.criteria import CriterionOutcome, CriterionStatus, Verdict
from vigil.report.evidence import criterion_trends
from vigil.report.markdown import criteria_rows, progress_percent, verdict_markdown


def outcome(name: str, status: CriterionStatus, measured: float | None) -> CriterionOutcome:
    return CriterionOutcome(
        name=name,
        suite="integration",
        measure="pass_rate",
        operator=">",
        threshold=0.95,
        status=status,
        measured=measured,
        message=f"{name} says | why",
    )


def test_verdict_markdown_leads_with_the_verdict_and_escapes_table_cells() -> None:
    text = verdict_markdown(
        run_id="r1",
        profile="development",
        verdict=Verdict.FAILED,
        message="verdict failed: a failed (x)",
        outcomes=[
            outcome("a", CriterionStatus.FAILED, 0.5),
            outcome("b", CriterionStatus.NOT_EVALUATED, None),
        ],
        suites=[("integration", "failed", 7)],
        report_dir=Path("/tmp/reports/r1"),
    )
    first, *_ = text.splitlines()
    assert first == "# vigil run `r1`: **FAILED**"
    assert "(file:///tmp/reports/r1/report.html)" in text
    assert "| a | **FAILED** | 0.5 | > 0.95 | a says \\| why |" in text
    assert "| b | **not evaluated** | — |" in text
    assert "| integration | failed | 7 |" in text


def test_criteria_rows_and_progress() -> None:
    [row] = criteria_rows([outcome("a", CriterionStatus.PASSED, 1.0)])
    assert row["status"] == "passed" and row["threshold"] == "> 0.95"
    assert progress_percent(0, 3) == 0.0
    assert progress_percent(1, 3) == 33.3
    assert progress_percent(5, 3) == 100.0
    assert progress_percent(0, 0) == 100.0


def test_trends_are_oldest_first_and_leave_unmeasured_runs_out() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    runs = [
        ("new", t0 + timedelta(hours=2), [outcome("a", CriterionStatus.FAILED, 0.5)]),
        ("old", t0, [outcome("a", CriterionStatus.PASSED, 1.0)]),
        ("mid", t0 + timedelta(hours=1), [outcome("a", CriterionStatus.NOT_EVALUATED, None)]),
    ]
    trend = criterion_trends(runs)["a"]
    assert [(p.run_id, p.measured, p.status) for p in trend] == [
        ("old", 1.0, "passed"),
        ("new", 0.5, "failed"),
    ]
