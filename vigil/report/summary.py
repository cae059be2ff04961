"""The run summary printed on a terminal, by `vigil validate` and `vigil runs show` alike."""

from __future__ import annotations

from vigil.criteria import CriterionStatus, Verdict
from vigil.report.model import RunReport
from vigil.results import Severity, Status


def render_summary(report: RunReport, *, all_checks: bool = False) -> str:
    """The verdict, every criterion, each suite, and the checks that did not pass.

    Args:
        report: The run's report, as assembled from the store.
        all_checks: List every check, not only those that failed or errored.
    """
    verdict = report.verdict.value.upper() if report.verdict else f"none ({report.status})"
    lines = [
        f"Run {report.run_id} ({report.profile}, seed {report.seed}, target {report.target}): "
        f"verdict {verdict}"
    ]
    if report.error:
        lines.append(f"  error: {report.error}")
    for c in report.criteria:
        lines.append(f"  {c.status:<14} {c.name:<34} {c.message}")
    for suite in report.suites.values():
        lines.append(f"  suite {suite.suite}: {suite.status}, {len(suite.checks)} checks")
        for check in suite.checks:
            if all_checks or check.status in (Status.FAILED, Status.ERROR):
                advisory = " (warn)" if check.severity is Severity.WARN else ""
                lines.append(f"    {check.status}{advisory}: {check.name}: {check.message}")
    unmeasured = [c.name for c in report.criteria if c.status is CriterionStatus.NOT_EVALUATED]
    if report.verdict is Verdict.INCOMPLETE and unmeasured:
        lines.append(
            f"Incomplete: {len(unmeasured)} criteria were not measured by the suites that ran "
            f"({', '.join(unmeasured)}), so the run cannot pass (exit code 1)."
        )
    return "\n".join(lines)
