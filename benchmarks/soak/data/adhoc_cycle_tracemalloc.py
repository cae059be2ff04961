"""Ad-hoc check (as run for RESULTS.md): 6 s soak cycles without Prefect.

Against the reference service; prints RSS and the tracemalloc-traced heap per cycle.
"""

import gc
import sys
import tracemalloc

import psutil

sys.path.insert(0, "/work/wt/soak")
from tasks.soak import (
    check_cycle_learning,
    check_cycle_patterns,
    checkpoint_cycle,
    run_cycle,
    sample_resources,
)
from vigil.config import load_config
from vigil.run import SuiteRun, new_run_id
from vigil.soak.config import soak_settings_for
from vigil.soak.judge import build_figures
from vigil.soak.series import SoakSeries
from vigil.store import SoakCheckpoints, open_store
from vigil.targets import open_target

config = load_config(None, "development")
settings = soak_settings_for(
    "development",
    duration_s=600,
    cycle_s=6.0,
    fault={"every_cycles": 2, "delay_s": 1, "max_duration_s": 3},
)
soak_id = new_run_id()
store = open_store(config.store)
store.begin_run(soak_id, profile="development", seed=1, config={})
cp = SoakCheckpoints(store)
rec = cp.begin_or_resume(soak_id, run_id=soak_id, profile="d", config={}, planned_cycles=100)
series = SoakSeries()
p = psutil.Process()
tracemalloc.start(10)
with open_target(config.target, config.work_dir / "targets" / soak_id) as target:
    run = SuiteRun(
        run_id=soak_id,
        profile="development",
        seed=1,
        store=config.store,
        report_dir=config.reports.dir,
        endpoint=target.endpoint,
    )
    base = None
    for cycle in range(1, 31):
        traffic = run_cycle.fn(run, settings, cycle)
        q = check_cycle_learning.fn(run, settings, cycle)
        pt = check_cycle_patterns.fn(run, settings, cycle)
        ts, vs = sample_resources.fn(run)
        fig = build_figures(cycle, rec.started_at, traffic, q, pt, ts, vs)
        series.extend(traffic.per_second)
        checkpoint_cycle.fn(run, fig, traffic.histogram, series)
        del traffic, q, pt, ts, vs, fig
        gc.collect()
        print(
            cycle,
            round(p.memory_info().rss / 2**20, 1),
            round(tracemalloc.get_traced_memory()[0] / 2**20, 2),
            flush=True,
        )
        if cycle == 8:
            base = tracemalloc.take_snapshot()
    snap = tracemalloc.take_snapshot()
    for stat in snap.compare_to(base, "traceback")[:6]:
        print(stat)
        print("\n".join(stat.traceback.format()[-8:]))
