"""``vigil soak`` with its memory accounted from inside, on a timer.

Runs vigil's command line in this process (``vigil.cli.main`` with the arguments after
``--``), so the soak flow runs under Prefect exactly as ``vigil soak`` runs it, while a daemon
thread writes the accounts of ``accounts.py`` every ``--every`` seconds. With ``--window A:B``
it also looks inside Python's heap between A and B seconds after the start: tracemalloc from A
(the allocation sites whose live memory grew most by B) and the collector's objects by type
(the types whose count grew most). Used by ``bench_soak_memory.py --accounting``.

Usage::

    .venv/bin/python benchmarks/soak/accounted_soak.py --accounting accounts.csv \\
        --window 300:1500 -- soak --duration 26m
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

from accounts import accountant, type_census, write_census_growth, write_growth

from vigil.cli import main as vigil_main
from vigil.soak.heap import tune_malloc


def _window(text: str) -> tuple[float, float]:
    start, _, end = text.partition(":")
    begin, finish = float(start), float(end)
    if not 0 <= begin < finish:
        raise argparse.ArgumentTypeError(f"--window wants A:B with 0 <= A < B, not {text!r}")
    return begin, finish


def _account(args: argparse.Namespace, began: float, done: threading.Event) -> None:
    columns, account = accountant()
    with args.accounting.open("w", newline="", buffering=1) as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        baseline = census = None
        while not done.wait(args.every):
            writer.writerow(account())
            elapsed = time.monotonic() - began
            if args.window is None:
                continue
            if baseline is None and elapsed >= args.window[0]:
                gc.collect()
                census = type_census()
                tracemalloc.start(25)
                baseline = tracemalloc.take_snapshot()
            elif baseline is not None and census is not None and elapsed >= args.window[1]:
                gc.collect()
                write_growth(baseline, tracemalloc.take_snapshot(), args.out / "tracemalloc.txt")
                tracemalloc.stop()
                write_census_growth(census, args.out / "census.txt")
                baseline = census = None
                args.window = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounting", type=Path, required=True, help="accounts CSV")
    parser.add_argument("--every", type=float, default=15.0, help="seconds between accounts")
    parser.add_argument(
        "--window",
        type=_window,
        help="A:B: trace Python allocations and count objects by type from A to B seconds",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("."), help="folder for tracemalloc.txt and census.txt"
    )
    parser.add_argument("vigil_args", nargs=argparse.REMAINDER, help="-- then vigil's arguments")
    args = parser.parse_args()
    if "PYTHONMALLOC" not in os.environ:
        # `vigil soak` restarts itself on glibc's malloc (vigil.cli); so does this harness, before
        # its accounts start, so that the soak is accounted as it runs.
        os.execve(
            sys.executable,
            [sys.executable, *sys.argv],
            {**os.environ, "PYTHONMALLOC": "malloc"},
        )
    vigil_args = args.vigil_args[1:] if args.vigil_args[:1] == ["--"] else args.vigil_args
    if not vigil_args:
        parser.error("give vigil's arguments after --, e.g. -- soak --duration 26m")
    # `vigil soak` caps malloc's arenas before Prefect's threads start (vigil.soak.heap); the
    # accounts thread starts before it, so it sets the same cap first, or it would keep an
    # arena of its own and the soak would run as if capped late.
    tune_malloc()
    done = threading.Event()
    accounts = threading.Thread(
        target=_account, args=(args, time.monotonic(), done), name="accounts", daemon=True
    )
    accounts.start()
    try:
        return vigil_main(vigil_args)
    finally:
        done.set()
        accounts.join(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
