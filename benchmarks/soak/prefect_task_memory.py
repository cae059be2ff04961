import os, gc, tracemalloc, psutil, sys
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from pydantic import BaseModel

class Out(BaseModel):
    a: float = 1.0
    s: str = "x" * 200

@task(cache_policy=NO_CACHE, persist_result=False)
def step(i: int) -> Out:
    return Out(a=i)

CLEAR = sys.argv[1] == "clear"

@flow
def loop(n: int) -> None:
    proc = psutil.Process()
    pass
    base = None
    for i in range(n):
        for _ in range(8):
            step(i)
        if CLEAR:
            FlowRunContext.get().run_results.clear()
        if i % 100 == 0:
            gc.collect()
            snap = None
            if base is None and i >= 50:
                base = snap
            print(i, round(proc.memory_info().rss / 2**20, 1), len(FlowRunContext.get().run_results), 0, flush=True)
    if False:
        for stat in snap.compare_to(base, "lineno")[:8]:
            print(stat)

loop(801)
