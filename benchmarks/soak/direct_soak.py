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
import ctypes
import ctypes.util
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import psutil

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


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _pymalloc() -> dict[str, int]:
    """Python's small-object allocator totals from ``sys._debugmallocstats`` (C stderr)."""
    wanted = {
        "# arenas allocated current": "arenas",
        "# bytes in allocated blocks": "allocated",
        "# bytes in available blocks": "available",
    }
    with tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        found = {}
        for line in capture.read().decode("ascii", "replace").splitlines():
            name, _, value = line.partition("=")
            if name.strip() in wanted:
                found[wanted[name.strip()]] = int(value.strip().replace(",", ""))
    return found


def _accountant() -> tuple[list[str], object]:
    """Column names and a function returning one row of the process's memory accounts."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = _MallInfo2
    import _sqlite3

    sqlite = ctypes.CDLL(_sqlite3.__file__)
    sqlite.sqlite3_memory_used.restype = ctypes.c_int64
    me = psutil.Process()
    columns = [
        "t_s",
        "rss_mb",
        "anon_mb",
        "malloc_in_use_mb",
        "malloc_free_mb",
        "malloc_mmapped_mb",
        "sqlite_mb",
        "py_blocks",
        "gc_objects",
        "pymalloc_arenas_mb",
        "pymalloc_allocated_mb",
        "pymalloc_available_mb",
    ]
    began = time.monotonic()

    def row() -> list[object]:
        info = libc.mallinfo2()
        pymalloc = _pymalloc()
        anon = ""
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith("Anonymous:"):
                anon = round(int(line.split()[1]) / 1024, 2)
        return [
            round(time.monotonic() - began, 1),
            round(me.memory_info().rss / 2**20, 2),
            anon,
            round(info.uordblks / 2**20, 2),
            round(info.fordblks / 2**20, 2),
            round(info.hblkhd / 2**20, 2),
            round(sqlite.sqlite3_memory_used() / 2**20, 3),
            sys.getallocatedblocks(),
            len(gc.get_objects()),
            pymalloc.get("arenas", 0),  # arenas of 1 MiB each (CPython 3.10+)
            round(pymalloc.get("allocated", 0) / 2**20, 2),
            round(pymalloc.get("available", 0) / 2**20, 2),
        ]

    return columns, row


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
        "(default: SQLite's 2000)",
    )
    args = parser.parse_args()
    accounts = None
    if args.accounting is not None:
        columns, account = _accountant()
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
            if accounts is not None:
                accounts.writerow(account())
            if args.tracemalloc_from == cycle:
                tracemalloc.start(25)
                baseline = tracemalloc.take_snapshot()
            print(progress_line(settings, record.started_at, utc_now(), figures), flush=True)
    if baseline is not None:
        _write_growth(baseline, tracemalloc.take_snapshot(), args.tracemalloc_out)
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


def _write_growth(before: object, after: object, out: Path) -> None:
    """The 25 allocation sites whose live memory grew most between the two snapshots."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    diffs = after.filter_traces(ignore).compare_to(before.filter_traces(ignore), "traceback")
    lines = []
    for diff in diffs[:25]:
        lines.append(f"{diff.size_diff / 1024:+.1f} KiB, {diff.count_diff:+d} blocks")
        lines.extend(f"    {line}" for line in diff.traceback.format()[-12:])
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
