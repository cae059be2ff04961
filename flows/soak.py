"""The soak: cycles of load, a periodic fault, probes and learning/pattern checks, for hours.

Each cycle is checkpointed in vigil's store as it completes; run again with the same run id
(``vigil soak --soak-id ID``), the soak reverts any fault left active by a crash and resumes at
the first cycle not checkpointed. See :mod:`vigil.soak` for the Prefect settings a long soak
needs.
"""

from __future__ import annotations

from uuid import UUID

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext

from tasks.soak import (
    check_cycle_learning,
    check_cycle_patterns,
    checkpoint_cycle,
    finish_soak,
    judge_soak_result,
    record_soak_result,
    report_progress,
    resume_soak,
    revert_journal,
    run_cycle,
    sample_resources,
)
from vigil.errors import RunError
from vigil.results import SuiteResult, utc_now
from vigil.run import SuiteRun
from vigil.soak.config import SoakSuiteConfig
from vigil.soak.heap import late_cap_warning, release_free_memory, tune_malloc
from vigil.soak.judge import build_figures
from vigil.soak.series import SoakSeries, soak_tiers
from vigil.store import SoakStatus


def _forget_finished_cycle() -> None:
    """Drop Prefect's in-memory links to the finished cycle's task results.

    For the life of a flow run Prefect keeps, per task result, a copy of the task's state
    (``FlowRunContext.run_results``, for drawing upstream dependencies) and its asset set
    (``task_run_assets``). Measured here: about 4 KB of RSS per task run, so a 72-hour soak
    would grow by tens of megabytes for nothing, as a cycle's results are never inputs of a
    later cycle's tasks. Forgetting them after each checkpoint keeps the flow's memory flat;
    the task runs themselves stay recorded in Prefect's database. The cycle's garbage is then
    collected and the C heap's free pages go back to the system
    (:func:`vigil.soak.heap.release_free_memory`).
    """
    context = FlowRunContext.get()
    if context is not None:
        context.run_results.clear()
        context.task_run_assets.clear()
    release_free_memory()


@flow(name="soak")
def soak(run: SuiteRun, settings: SoakSuiteConfig) -> SuiteResult:
    """Soak the target: run its cycles (resuming at the last checkpoint), then judge the trends.

    Args:
        run: The run and the started target's endpoint; the run id is the soak id.
        settings: The soak's settings (duration, cycle length, load, fault, trend bounds).
    """
    logger = get_run_logger()
    # Before the first cycle starts its threads: they share two malloc arenas. That holds for
    # Prefect's threads too only if the limit came first (vigil.soak.heap).
    warning = late_cap_warning()
    if warning is not None:
        logger.warning(warning)
    tune_malloc()
    start = resume_soak(run, settings)
    series = SoakSeries(start.series, soak_tiers(settings.series_fine_span_s))
    artifact: UUID | None = None
    error: str | None = None
    try:
        for cycle in range(start.next_cycle, settings.planned_cycles + 1):
            traffic = run_cycle(run, settings, cycle)
            quality = check_cycle_learning(run, settings, cycle)
            pattern_problem = check_cycle_patterns(run, settings, cycle)
            target, vigil = sample_resources(run)
            figures = build_figures(
                cycle, start.started_at, traffic, quality, pattern_problem, target, vigil
            )
            series.extend(traffic.per_second)
            checkpoint_cycle(run, figures, traffic.histogram, series)
            artifact = report_progress(run, settings, start.started_at, figures, artifact)
            _forget_finished_cycle()
    except RunError as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.error("Soak %s stopped early: %s", run.run_id, error)
    except BaseException:
        # Cancelled or interrupted: the engine may not schedule tasks any more, so the
        # journal is reverted directly; the completed cycles are already checkpointed.
        revert_journal(run, "interrupt")
        finish_soak.fn(run, SoakStatus.INTERRUPTED)
        raise
    finally:
        revert_journal(run, "finally")
    result = judge_soak_result(run, settings, start.started_at, error)
    result.finished_at = utc_now()
    record_soak_result(run, result)
    finish_soak(run, SoakStatus.COMPLETED)
    return result
