"""The soak's cycle loop without Prefect, to measure the memory of vigil's own parts alone.

Runs the same steps as ``flows/soak.py`` -- the task functions' bodies (``.fn``) in the same
order, checkpoints and heap controls included -- against the reference service started as
``vigil soak`` starts it, for ``--duration``. Used by ``bench_soak_memory.py --mode direct``;
it stops by itself.
"""

from __future__ import annotations

import argparse
import sys

from tasks.soak import (
    check_cycle_learning,
    check_cycle_patterns,
    checkpoint_cycle,
    run_cycle,
    sample_resources,
)
from vigil.config import load_config
from vigil.results import utc_now
from vigil.run import SuiteRun, new_run_id
from vigil.soak.config import soak_settings_for
from vigil.soak.heap import limit_arenas, release_free_memory
from vigil.soak.judge import build_figures, progress_line
from vigil.soak.series import SoakSeries, soak_tiers
from vigil.store import SoakCheckpoints, open_store
from vigil.targets import open_target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, required=True)
    args = parser.parse_args()
    config = load_config(None, "development")
    settings = soak_settings_for("development", duration_s=args.duration_s)
    soak_id = new_run_id()
    store = open_store(config.store)
    store.begin_run(soak_id, profile="development", seed=config.seed, config={})
    checkpoints = SoakCheckpoints(store)
    record = checkpoints.begin_or_resume(
        soak_id,
        run_id=soak_id,
        profile="development",
        config=settings.model_dump(mode="json"),
        planned_cycles=settings.planned_cycles,
    )
    series = SoakSeries(tiers=soak_tiers(settings.series_fine_span_s))
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
        for cycle in range(1, settings.planned_cycles + 1):
            traffic = run_cycle.fn(run, settings, cycle)
            quality = check_cycle_learning.fn(run, settings, cycle)
            pattern = check_cycle_patterns.fn(run, settings, cycle)
            target_sample, vigil_sample = sample_resources.fn(run)
            figures = build_figures(
                cycle, record.started_at, traffic, quality, pattern, target_sample, vigil_sample
            )
            series.extend(traffic.per_second)
            checkpoint_cycle.fn(run, figures, traffic.histogram, series)
            release_free_memory()
            print(progress_line(settings, record.started_at, utc_now(), figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
