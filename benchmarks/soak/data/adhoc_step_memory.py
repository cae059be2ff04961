"""Ad-hoc check (as run for RESULTS.md): which soak step grows vigil's RSS?

Starts the reference service as ``vigil soak`` does, then repeats ONE step of a soak cycle
(``--step``) many times and prints vigil's RSS every ``--every`` iterations, with
``gc.collect()`` first. Steps: cycle (load + probes + fault, short cycles), learning, patterns,
resources, checkpoint (with the growing tiered series). Usage::

    adhoc_step_memory.py --step learning --iterations 400
"""

import argparse
import ctypes
import ctypes.util
import gc
import time

import psutil

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

parser = argparse.ArgumentParser()
parser.add_argument("--step", required=True)
parser.add_argument("--iterations", type=int, default=300)
parser.add_argument("--every", type=int, default=25)
parser.add_argument("--cycle-s", type=float, default=15.0)
parser.add_argument("--fault-every", type=int, default=2)
parser.add_argument("--trim", action="store_true", help="malloc_trim(0) after every iteration")
parser.add_argument("--arenas", type=int, default=0, help="mallopt(M_ARENA_MAX, N) at start")
args = parser.parse_args()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
if args.arenas:
    libc.mallopt(-8, args.arenas)  # M_ARENA_MAX

me = psutil.Process()
config = load_config(None, "development")
settings = soak_settings_for("development", duration_s=3600.0, cycle_s=args.cycle_s)
settings = settings.model_copy(
    update={"fault": settings.fault.model_copy(update={"every_cycles": args.fault_every})}
)
soak_id = new_run_id()
store = open_store(config.store)
store.begin_run(soak_id, profile="development", seed=config.seed, config={})
checkpoints = SoakCheckpoints(store)
record = checkpoints.begin_or_resume(
    soak_id, run_id=soak_id, profile="development", config={}, planned_cycles=10**6
)
series = SoakSeries()
began = time.monotonic()
with open_target(config.target, config.work_dir / "targets" / soak_id) as target:
    run = SuiteRun(
        run_id=soak_id,
        profile="development",
        seed=config.seed,
        store=config.store,
        report_dir=config.reports.dir / soak_id,
        endpoint=target.endpoint,
    )
    first = args.cycle_s if args.step == "checkpoint" else 2.0
    traffic = run_cycle.fn(run, settings.model_copy(update={"cycle_s": first}), 1)
    quality = check_cycle_learning.fn(run, settings, 1)
    target_sample, vigil_sample = sample_resources.fn(run)
    for i in range(1, args.iterations + 1):
        if args.step == "cycle":
            traffic = run_cycle.fn(run, settings, i)
        elif args.step == "learning":
            check_cycle_learning.fn(run, settings, i)
        elif args.step == "patterns":
            check_cycle_patterns.fn(run, settings, i)
        elif args.step == "resources":
            sample_resources.fn(run)
        elif args.step == "checkpoint":
            figures = build_figures(
                i, record.started_at, traffic, quality, None, target_sample, vigil_sample
            )
            shifted = {
                name: [(t + 15.0 * i, v) for t, v in points]
                for name, points in traffic.per_second.items()
            }
            series.extend(shifted)
            checkpoint_cycle.fn(run, figures, traffic.histogram, series)
        if args.trim:
            libc.malloc_trim(0)
        if i % args.every == 0:
            gc.collect()
            print(
                f"{args.step} {i} {time.monotonic() - began:.0f}s "
                f"rss={me.memory_info().rss / 2**20:.1f}MB "
                f"pool={store._engine.pool.status()}",
                flush=True,
            )
