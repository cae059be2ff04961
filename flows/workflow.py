"""The workflow suite: the system's intelligence exercised end to end, part by part.

Each part (``vigil.suites.WORKFLOW_PARTS``) is a flow of its own that returns its checks
and measurements; this flow runs the enabled parts in order as subflows and records them
as one workflow result.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from tasks.bookkeeping import record_suite_result
from vigil.results import SuiteResult, utc_now
from vigil.run import SuiteRun
from vigil.suites import WORKFLOW_PARTS, WorkflowSuiteConfig


@flow(name="workflow")
def workflow(run: SuiteRun, settings: WorkflowSuiteConfig) -> SuiteResult:
    """Run the workflow suite's enabled parts and record their results as one.

    Args:
        run: The run, the started target's endpoint and the run's dataset settings.
        settings: Each part's settings under its name; a part switched off does not run.
    """
    started = utc_now()
    parts = [
        WORKFLOW_PARTS[name].load_flow()(run, getattr(settings, name))
        for name in settings.parts_enabled()
    ]
    get_run_logger().info("Workflow parts run: %s", ", ".join(settings.parts_enabled()))
    result = SuiteResult(
        suite="workflow",
        started_at=started,
        checks=[check for part in parts for check in part.checks],
        measurements=[m for part in parts for m in part.measurements],
    )
    result.finished_at = utc_now()
    record_suite_result(run, result)
    return result
