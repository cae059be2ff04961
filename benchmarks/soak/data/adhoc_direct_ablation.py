"""Ad-hoc check (as run for RESULTS.md): which step of the soak's cycle makes the direct run grow?

The cycle loop of ``benchmarks/soak/direct_soak.py`` (no Prefect) with steps left out
(``--skip checkpoint,learning,...``); prints vigil's RSS after every cycle. Usage::

    adhoc_direct_ablation.py --duration-s 900 --skip checkpoint
"""

import argparse
import gc

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
from vigil.soak.heap import limit_arenas, release_free_memory
from vigil.soak.judge import build_figures
from vigil.soak.series import SoakSeries, soak_tiers
from vigil.store import SoakCheckpoints, open_store
from vigil.targets import open_target

parser = argparse.ArgumentParser()
parser.add_argument("--duration-s", type=float, required=True)
parser.add_argument(
    "--skip",
    default="",
    help="comma-separated: checkpoint,learning,patterns,resources,fault,series",
)
args = parser.parse_args()
skip = set(filter(None, args.skip.split(",")))
config = load_config(None, "development")
settings = soak_settings_for("development", duration_s=args.duration_s)
if "fault" in skip:
    settings = settings.model_copy(
        update={"fault": settings.fault.model_copy(update={"every_cycles": 0})}
    )
soak_id = new_run_id()
store = open_store(config.store)
store.begin_run(soak_id, profile="development", seed=config.seed, config={})
checkpoints = SoakCheckpoints(store)
record = checkpoints.begin_or_resume(
    soak_id, run_id=soak_id, profile="development", config={}, planned_cycles=10**6
)
series = SoakSeries(tiers=soak_tiers(settings.series_fine_span_s))
me = psutil.Process()
limit_arenas()
with open_target(config.target, config.work_dir / "targets" / soak_id) as target:
    run = SuiteRun(
        run_id=soak_id,
        profile="development",
        seed=config.seed,
        store=config.store,
        report_dir=config.reports.dir / soak_id,
        endpoint=target.endpoint,
    )
    target_sample, vigil_sample = sample_resources.fn(run)
    for cycle in range(1, settings.planned_cycles + 1):
        traffic = run_cycle.fn(run, settings, cycle)
        quality = None if "learning" in skip else check_cycle_learning.fn(run, settings, cycle)
        pattern = None if "patterns" in skip else check_cycle_patterns.fn(run, settings, cycle)
        if "resources" not in skip:
            target_sample, vigil_sample = sample_resources.fn(run)
        figures = build_figures(
            cycle, record.started_at, traffic, quality, pattern, target_sample, vigil_sample
        )
        if "series" not in skip:
            series.extend(traffic.per_second)
        if "checkpoint" not in skip:
            checkpoint_cycle.fn(run, figures, traffic.histogram, series)
        release_free_memory()
        gc.collect()
        print(f"cycle {cycle} rss={me.memory_info().rss / 2**20:.1f}MB", flush=True)
