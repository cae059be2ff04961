"""How much resident memory does one Prefect task run leave behind in the flow's process?

A flow calls a trivial task (it returns a small pydantic model) ``--per x --iterations`` times
(8 per iteration by default, as fast as it can; ``--pause-s`` gives it a soak's pace) and prints
its RSS every ``--every`` iterations. With ``--forget`` it clears the flow run context's
per-result links after each iteration, as the soak flow does after each cycle. Uses Prefect's
temporary server (in its own process, so its memory is not counted).

Usage::

    .venv/bin/python benchmarks/soak/prefect_task_memory.py --iterations 800 [--forget] [--trim]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import os
import time
import tracemalloc

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
def many_tasks(
    iterations: int,
    forget: bool,
    trim: bool = False,
    per: int = 8,
    pause_s: float = 0.0,
    every: int = 100,
) -> None:
    """Run `per` task runs per iteration and print the RSS every `every` iterations."""
    process = psutil.Process()
    libc = ctypes.CDLL(ctypes.util.find_library("c")) if trim else None
    for index in range(iterations + 1):
        for _ in range(per):
            answer(index)
        if pause_s:
            time.sleep(pause_s)
        if forget:
            context = FlowRunContext.get()
            context.run_results.clear()
            context.task_run_assets.clear()
        if libc is not None:
            libc.malloc_trim(0)
        if index % every == 0:
            gc.collect()
            rss = process.memory_info().rss / 2**20
            traced = tracemalloc.get_traced_memory()[0] / 2**20 if tracemalloc.is_tracing() else 0
            print(f"task_runs={index * per} rss_mb={rss:.1f} traced_mb={traced:.1f}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=800)
    parser.add_argument("--forget", action="store_true")
    parser.add_argument(
        "--trim", action="store_true", help="cap glibc's arenas at 2 and malloc_trim(0) each time"
    )
    parser.add_argument("--tracemalloc", action="store_true", help="also print the traced heap")
    parser.add_argument("--per", type=int, default=8, help="task runs per iteration")
    parser.add_argument(
        "--pause-s", type=float, default=0.0, help="pause after each iteration (a soak's pace)"
    )
    parser.add_argument("--every", type=int, default=100, help="iterations between prints")
    arguments = parser.parse_args()
    if arguments.trim:
        ctypes.CDLL(ctypes.util.find_library("c")).mallopt(-8, 2)  # M_ARENA_MAX
    if arguments.tracemalloc:
        tracemalloc.start(1)
    many_tasks(
        arguments.iterations,
        arguments.forget,
        arguments.trim,
        arguments.per,
        arguments.pause_s,
        arguments.every,
    )
