"""The soak's cycle loop without Prefect, to measure the memory of vigil's own parts alone.

Runs the same steps as ``flows/soak.py`` -- the task functions' bodies (``.fn``) in the same
order, checkpoints and heap controls included -- against the reference service started as
``vigil soak`` starts it, for ``--duration``. Used by ``bench_soak_memory.py --mode direct``;
it stops by itself.

With ``--accounting FILE`` it also writes, after each cycle's checkpoint and heap release, where
its memory is: RSS and anonymous memory (smaps_rollup), glibc's malloc totals
(``mallinfo2``: bytes in use, free, in mmapped blocks), SQLite's own allocation count
(``sqlite3_memory_used``), Python's allocated blocks and the collector's object count, and
the small-object allocator's arenas with the bytes in use and free in them
(``sys._debugmallocstats``). A growth seen in RSS can then be placed in the C heap, SQLite,
Python objects, or pages that allocators hold without using them.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tracemalloc
from pathlib import Path

from accounts import accountant, write_growth

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
from vigil.soak.heap import release_free_memory, tune_malloc
from vigil.soak.judge import build_figures, progress_line
from vigil.soak.series import SoakSeries, soak_tiers
from vigil.store import SoakCheckpoints, open_store
from vigil.targets import open_target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, required=True)
    parser.add_argument("--accounting", type=Path, help="write per-cycle memory accounts here")
    parser.add_argument(
        "--tracemalloc-from",
        type=int,
        metavar="CYCLE",
        help="trace Python allocations (25 frames) from the end of this cycle and write the "
        "sites that grew most by the end to --tracemalloc-out",
    )
    parser.add_argument("--tracemalloc-out", type=Path, default=Path("tracemalloc.txt"))
    parser.add_argument(
        "--sqlite-cache-kib",
        type=int,
        help="set SQLite's page cache of vigil's store to this many KiB per connection "
        "(default: the store's own, vigil.store.SQLITE_CACHE_KIB)",
    )
    args = parser.parse_args()
    accounts = None
    if args.accounting is not None:
        columns, account = accountant()
        accounts = csv.writer(args.accounting.open("w", newline="", buffering=1))
        accounts.writerow(columns)
    config = load_config(None, "development")
    settings = soak_settings_for("development", duration_s=args.duration_s)
    soak_id = new_run_id()
    store = open_store(config.store)
    if args.sqlite_cache_kib is not None:
        _set_sqlite_cache(store, args.sqlite_cache_kib)
    baseline = None
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
    tune_malloc()
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
            if accounts is not None:
                accounts.writerow(account())
            if args.tracemalloc_from == cycle:
                tracemalloc.start(25)
                baseline = tracemalloc.take_snapshot()
            print(progress_line(settings, record.started_at, utc_now(), figures), flush=True)
    if baseline is not None:
        write_growth(baseline, tracemalloc.take_snapshot(), args.tracemalloc_out)
    return 0


def _set_sqlite_cache(store: object, kib: int) -> None:
    """Give every new connection of the store's engine a page cache of `kib` KiB."""
    import sqlalchemy as sa

    engine = store._engine  # an experiment on the store's engine, not an API

    def _cache(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA cache_size=-{int(kib)}")
        cursor.close()

    sa.event.listen(engine, "connect", _cache)
    engine.dispose()  # connections made before the listener are closed


if __name__ == "__main__":
    sys.exit(main())
