"""The run's verdict as Prefect shows it: a markdown summary and a criteria table.

Pure formatting: the validate flow's publishing task turns these into artifacts, so that
the deployment's own flow run (not only its ``criteria`` subflow) carries the verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vigil.criteria import CriterionOutcome, CriterionStatus, Verdict

_MARK = {
    CriterionStatus.PASSED: "passed",
    CriterionStatus.FAILED: "**FAILED**",
    CriterionStatus.NOT_EVALUATED: "**not evaluated**",
}


def _cell(text: str) -> str:
    """Markdown table cells cannot hold pipes or line breaks."""
    return text.replace("|", "\\|").replace("\n", " ")


def _measured(outcome: CriterionOutcome) -> str:
    if outcome.measured is None:
        return "—"
    return f"{outcome.measured:.6g} {outcome.unit}".strip()


def criteria_rows(outcomes: Iterable[CriterionOutcome]) -> list[dict[str, Any]]:
    """One row per criterion, for a Prefect table artifact."""
    return [
        {
            "criterion": o.name,
            "status": o.status.value,
            "suite": o.suite,
            "measured": o.measured,
            "threshold": f"{o.operator} {o.threshold:g} {o.unit}".strip(),
            "why": o.message,
        }
        for o in outcomes
    ]


def verdict_markdown(
    *,
    run_id: str,
    profile: str,
    verdict: Verdict,
    message: str,
    outcomes: Sequence[CriterionOutcome],
    suites: Sequence[tuple[str, str, int]],
    report_dir: Path,
) -> str:
    """The verdict first, then why, the criteria and the suites, as markdown.

    Args:
        run_id: The run's id in vigil's store.
        profile: The profile it ran.
        verdict: Its verdict.
        message: The one-line reason (:func:`vigil.criteria.verdict_message`).
        outcomes: Its judged criteria.
        suites: (name, status, number of checks) of each suite that recorded a result.
        report_dir: Where its reports were written.
    """
    html = (report_dir / "report.html").resolve()
    lines = [
        f"# vigil run `{run_id}`: **{verdict.value.upper()}**",
        "",
        f"{message}.",
        "",
        f"Profile `{profile}` · report: [{html}]({html.as_uri()})",
        "",
    ]
    if outcomes:
        lines += ["| criterion | status | measured | threshold | why |", "|---|---|---|---|---|"]
        lines += [
            f"| {_cell(o.name)} | {_MARK[o.status]} | {_cell(_measured(o))} "
            f"| {_cell(f'{o.operator} {o.threshold:g} {o.unit}'.strip())} | {_cell(o.message)} |"
            for o in outcomes
        ]
    else:
        lines.append("No success criterion was configured.")
    if suites:
        lines += ["", "| suite | status | checks |", "|---|---|---|"]
        lines += [f"| {name} | {status} | {count} |" for name, status, count in suites]
    return "\n".join(lines) + "\n"


def progress_percent(done: int, total: int) -> float:
    """Share of the run's steps finished, as Prefect's progress artifact wants it (0-100)."""
    if total <= 0:
        return 100.0
    return round(100.0 * min(max(done, 0), total) / total, 1)
