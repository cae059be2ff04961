"""Where a reference worker spends its time under the capacity load (cProfile + timings).

Runs one reference worker *in this process* (the supervisor's job -- bind the socket, share
the state -- done here instead), with cProfile on its event-loop thread, while a forked child
process drives the predict/feedback load at it. The database calls of the worker's
group-commit thread (``Database.write_batch``) and of feedback lookups
(``Database.find_prediction``) are timed by wrapping them in this process; nothing in
``reference/`` is edited. cProfile slows the profiled thread, so read the shares, not the
absolute times. Usage::

    .venv/bin/python benchmarks/reference_capacity/profile_worker.py --users 1000 --measure 60
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from bench_reference_capacity import export_reference, schedstat  # noqa: E402


class CallTimer:
    """Wraps a method and records how long each call took (and how many rows it carried)."""

    def __init__(self, owner: type, name: str, rows: bool = False) -> None:
        self.durations: list[float] = []
        self.sizes: list[int] = []
        self.lock = threading.Lock()
        original = getattr(owner, name)
        timer = self

        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                with timer.lock:
                    timer.durations.append(elapsed)
                    if rows:
                        timer.sizes.append(len(args[1]) + len(args[2]))

        setattr(owner, name, timed)

    def summary(self, wall_s: float) -> dict[str, float]:
        """Count, percentiles in ms, busy share of the wall time, mean rows per call."""
        if not self.durations:
            return {"calls": 0}
        ordered = sorted(self.durations)
        out = {
            "calls": len(ordered),
            "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95)] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2),
            "total_s": round(sum(ordered), 2),
            "busy_share_of_wall": round(sum(ordered) / wall_s, 3),
        }
        if self.sizes:
            out["mean_rows_per_call"] = round(statistics.mean(self.sizes), 1)
        return out


def drive_load(base_url: str, args: argparse.Namespace, out: Path, worker_pid: int) -> None:
    """Child process: wait for the worker, run the load, write the summary, stop the worker."""
    from vigil.load import (
        LoadProfileConfig,
        predict_feedback_scenario,
        random_labelled_rows,
        run_load,
    )

    try:
        deadline = time.monotonic() + 120
        import urllib.request

        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base_url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        profile = LoadProfileConfig(
            users=args.users,
            ramp_seconds=args.ramp,
            duration_seconds=args.ramp + args.measure,
            warmup_seconds=args.ramp,
            think_min_seconds=args.think_min,
            think_max_seconds=args.think_max,
            request_timeout_seconds=30,
            stop_grace_seconds=30,
            seed=1,
        )
        result = run_load(base_url, profile, predict_feedback_scenario(random_labelled_rows()))
        out.write_text(
            json.dumps(
                {
                    "count": result.overall.count,
                    "errors": result.overall.errors,
                    "rps": result.overall.throughput_rps,
                    "latency_ms": result.overall.latency.model_dump(),
                    "predict_ms": result.requests["predict"].latency.model_dump(),
                    "feedback_ms": result.requests["feedback"].latency.model_dump(),
                }
            )
        )
    finally:
        # SIGINT, not SIGTERM: uvicorn re-raises the signal it caught once it has shut down,
        # and only SIGINT's default (KeyboardInterrupt) lets the parent write its report.
        os.kill(worker_pid, signal.SIGINT)


def main() -> None:
    """Run the profiled worker and the load, then print where the time went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--ramp", type=float, default=20.0)
    parser.add_argument("--measure", type=float, default=60.0)
    parser.add_argument("--think-min", type=float, default=2.0)
    parser.add_argument("--think-max", type=float, default=5.0)
    parser.add_argument("--at-commit", default="HEAD")
    parser.add_argument("--label", default="profile")
    args = parser.parse_args()

    source_dir, revision = export_reference(args.at_commit)
    sys.path.insert(0, str(source_dir))
    from reference.settings import ServiceSettings
    from reference.shared_state import ControlField, SharedState
    from reference.storage import Database
    from reference.worker_main import run_worker

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    port = sock.getsockname()[1]
    data_dir = Path(tempfile.mkdtemp(prefix="reference-profile-"))
    settings = ServiceSettings(port=port, data_dir=data_dir, log_level="warning")
    (data_dir).mkdir(parents=True, exist_ok=True)
    state = SharedState(multiprocessing.get_context("fork"))
    state.write(ControlField.SUPERVISOR_PID, os.getpid())
    state.write(ControlField.DESIRED_WORKERS, 1)
    state.write(ControlField.CACHE_SIZE, settings.cache_size)
    state.write(ControlField.LEARNING_RATE, settings.learning_rate)

    out = HERE / f"{args.label}.load.json"
    load = multiprocessing.get_context("fork").Process(
        target=drive_load, args=(f"http://127.0.0.1:{port}", args, out, os.getpid())
    )
    load.start()
    write_batch = CallTimer(Database, "write_batch", rows=True)
    find_prediction = CallTimer(Database, "find_prediction")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    sched_before = schedstat(os.getpid())
    profiler.enable()
    try:
        run_worker(settings, state, 0, sock)
    except KeyboardInterrupt:
        pass
    finally:
        profiler.disable()
        wall = time.perf_counter() - started
        sched_after = schedstat(os.getpid())
        load.join(timeout=60)
        if load.is_alive():
            load.terminate()
            load.join(timeout=10)
    prof_path = HERE / f"{args.label}.prof"
    profiler.dump_stats(prof_path)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)
    threads = {
        key: round(value - sched_before.get(key, 0.0), 2)
        for key, value in sched_after.items()
        if value - sched_before.get(key, 0.0) >= 0.05
    }
    report = {
        "reference_revision": revision,
        "wall_s": round(wall, 1),
        "load": json.loads(out.read_text()) if out.exists() else None,
        "write_batch": write_batch.summary(wall),
        "find_prediction": find_prediction.summary(wall),
        "threads_cpu_and_runqueue_wait": threads,
    }
    (HERE / f"{args.label}.summary.json").write_text(json.dumps(report, indent=1))
    (HERE / f"{args.label}.pstats.txt").write_text(text.getvalue())
    print(json.dumps(report, indent=1))
    print(text.getvalue()[:20000])


if __name__ == "__main__":
    main()
