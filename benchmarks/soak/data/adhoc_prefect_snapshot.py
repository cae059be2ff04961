"""Ad-hoc check (as run for RESULTS.md): what do Prefect task runs leave in the Python heap?

tracemalloc (8 frames) snapshots after ``N1`` and ``N2`` iterations of 8 trivial task runs, each
taken after a 25 s pause so the events worker can send what it queued; prints the largest
differences by traceback and by line. Usage: ``adhoc_prefect_snapshot.py 100 300``.
"""

import gc
import os
import sys
import time
import tracemalloc

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

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
def many(n1: int, n2: int) -> None:
    """Run the task runs, forgetting their results as the soak does, and compare snapshots."""
    snaps = {}
    for index in range(n2 + 1):
        for _ in range(8):
            answer(index)
        context = FlowRunContext.get()
        context.run_results.clear()
        context.task_run_assets.clear()
        if index in (n1, n2):
            time.sleep(25)
            gc.collect()
            snaps[index] = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
    for stat in snaps[n2].compare_to(snaps[n1], "traceback")[:8]:
        print(f"+{stat.size_diff / 1024:.0f} KiB, +{stat.count_diff} blocks")
        for line in stat.traceback.format()[-16:]:
            print("   ", line)
    print("by line:")
    for stat in snaps[n2].compare_to(snaps[n1], "lineno")[:15]:
        print(stat)


if __name__ == "__main__":
    tracemalloc.start(8)
    many(int(sys.argv[1]), int(sys.argv[2]))
