"""One load step split into shards, each its own Prefect task run, merged exactly afterwards."""

from __future__ import annotations

from prefect import Flow, flow
from prefect.task_runners import TaskRunner

from tasks.performance import run_load_shard
from vigil.load import LoadResult
from vigil.performance import LoadStepPlan, PerformanceSuiteConfig


@flow(name="load-shards")
def load_shards(
    base_url: str, plan: LoadStepPlan, settings: PerformanceSuiteConfig, shards: int
) -> list[dict[str, LoadResult]]:
    """Run the step's shards at once; every shard's results, by group.

    Args:
        base_url: Origin of the target.
        plan: The step to run.
        settings: The suite's settings (timeouts, keep-alive, progress interval).
        shards: How many shards (at most the step's users, so that each has one).
    """
    futures = [
        run_load_shard.submit(base_url, plan, settings, shards, index) for index in range(shards)
    ]
    return [future.result() for future in futures]


def task_runner_for(settings: PerformanceSuiteConfig) -> TaskRunner | None:
    """The task runner the settings ask for (None: Prefect's default thread pool).

    Args:
        settings: The suite's settings (`task_runner` and `dask_workers`).
    """
    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": settings.dask_workers,
                "processes": True,
                "threads_per_worker": 1,
                # The load is local and short-lived; the dashboard would only take a port.
                "dashboard_address": None,
            }
        )
    return None


def sharded_load_flow(
    settings: PerformanceSuiteConfig,
) -> Flow[[str, LoadStepPlan, PerformanceSuiteConfig, int], list[dict[str, LoadResult]]]:
    """`load_shards` with the task runner the settings ask for.

    Args:
        settings: The suite's settings (`task_runner` and `dask_workers`).
    """
    runner = task_runner_for(settings)
    return load_shards if runner is None else load_shards.with_options(task_runner=runner)
