"""Ad-hoc check (as run for RESULTS.md): `vigil soak` with its Python heap watched from inside.

Runs ``vigil soak --duration D`` in this process with tracemalloc on (one frame) and a sampler
thread that prints, every ``--every`` seconds: elapsed time, RSS, the traced Python heap, the
number of objects the garbage collector tracks, and the ten types whose counts grew most since
the first sample after ``--warmup``. Usage::

    adhoc_soak_heap.py --duration 20m --every 60 --warmup 300
"""

import argparse
import collections
import gc
import sys
import threading
import time
import tracemalloc

import psutil

parser = argparse.ArgumentParser()
parser.add_argument("--duration", default="20m")
parser.add_argument("--every", type=float, default=60.0)
parser.add_argument("--warmup", type=float, default=300.0)
args = parser.parse_args()
tracemalloc.start(1)
began = time.monotonic()
me = psutil.Process()
stop = threading.Event()


def _types() -> collections.Counter:
    return collections.Counter(type(o).__name__ for o in gc.get_objects())


def sample() -> None:
    baseline = None
    while not stop.wait(args.every):
        elapsed = time.monotonic() - began
        traced = tracemalloc.get_traced_memory()[0] / 2**20
        counts = _types()
        line = (
            f"t={elapsed:.0f}s rss={me.memory_info().rss / 2**20:.1f}MB "
            f"heap={traced:.2f}MB objects={sum(counts.values())} threads={me.num_threads()}"
        )
        if baseline is None and elapsed >= args.warmup:
            baseline = counts
        if baseline is not None:
            grown = (counts - baseline).most_common(10)
            line += " grown=" + ",".join(f"{k}:+{v}" for k, v in grown)
        print(line, file=sys.stderr, flush=True)


threading.Thread(target=sample, daemon=True).start()
from vigil.cli import main  # noqa: E402  (after tracemalloc, so vigil's imports are traced)

code = main(["soak", "--duration", args.duration])
stop.set()
sys.exit(code)
