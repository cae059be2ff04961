"""How much resident memory does one Prefect task run leave behind in the flow's process?

A flow calls a trivial task (it returns a small pydantic model) ``8 x --iterations`` times and
prints its RSS every 100 iterations. With ``--forget`` it clears the flow run context's
per-result links after each iteration, as the soak flow does after each cycle. Uses Prefect's
temporary server (in its own process, so its memory is not counted).

Usage::

    .venv/bin/python benchmarks/soak/prefect_task_memory.py --iterations 800 [--forget]
"""

from __future__ import annotations

import argparse
import gc
import os

import psutil
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from pydantic import BaseModel


class Answer(BaseModel):
    """A small task result."""

    value: float = 1.0
    text: str = "x" * 200


@task(cache_policy=NO_CACHE, persist_result=False)
def answer(index: int) -> Answer:
    """Return a small model."""
    return Answer(value=index)


@flow
def many_tasks(iterations: int, forget: bool) -> None:
    """Run 8 task runs per iteration and print the RSS every 100 iterations."""
    process = psutil.Process()
    for index in range(iterations + 1):
        for _ in range(8):
            answer(index)
        if forget:
            context = FlowRunContext.get()
            context.run_results.clear()
            context.task_run_assets.clear()
        if index % 100 == 0:
            gc.collect()
            rss = process.memory_info().rss / 2**20
            print(f"task_runs={index * 8} rss_mb={rss:.1f}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=800)
    parser.add_argument("--forget", action="store_true")
    arguments = parser.parse_args()
    many_tasks(arguments.iterations, arguments.forget)
