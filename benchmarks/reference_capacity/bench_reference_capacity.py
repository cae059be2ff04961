"""Capacity of the reference service: N users doing predict -> think -> feedback.

Starts ``python -m reference`` on a free port with a fresh data directory, waits for
``GET /health``, ramps the users up, measures for the given time after the ramp, samples the
service's process tree (CPU and RSS, via psutil) and the generator's own CPU once a second,
then stops the service with SIGTERM. Writes the full result (without histograms) as JSON next
to this file and prints a summary. Usage::

    .venv/bin/python benchmarks/reference_capacity/bench_reference_capacity.py \\
        --users 1000 --ramp 20 --measure 90 --think-min 2 --think-max 5
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import psutil

from vigil.load import (
    LoadProfileConfig,
    LoadProgress,
    LoadResult,
    predict_feedback_scenario,
    random_labelled_rows,
    run_load,
)

HERE = Path(__file__).parent
REPO = HERE.parent.parent


def free_port() -> int:
    """A port nothing listens on right now (the service binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float) -> dict:
    """Poll GET /health until it answers 200, the process dies or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode} before /health")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=2) as answer:
                return json.load(answer)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last_error = str(exc)
        time.sleep(0.25)
    raise RuntimeError(f"/health did not answer within {timeout} s: {last_error}")


def get_json(url: str) -> dict:
    """GET a JSON document with a short timeout."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)


class TreeSampler(threading.Thread):
    """Samples CPU% and RSS of a process tree, and this process's CPU%, once a second."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(root_pid)
        self.me = psutil.Process()
        self.samples: list[dict[str, float]] = []
        self.stop = threading.Event()
        self._known: dict[int, psutil.Process] = {}

    def _tree(self) -> list[psutil.Process]:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        for proc in procs:
            self._known.setdefault(proc.pid, proc)
        return [self._known[p.pid] for p in procs]

    def run(self) -> None:
        started = time.monotonic()
        for proc in self._tree():
            proc.cpu_percent(None)
        self.me.cpu_percent(None)
        while not self.stop.wait(1.0):
            cpu = rss = 0.0
            procs = self._tree()
            for proc in procs:
                try:
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.samples.append(
                {
                    "t": round(time.monotonic() - started, 1),
                    "service_cpu_percent": round(cpu, 1),
                    "service_rss_mb": round(rss / 2**20, 1),
                    "service_processes": len(procs),
                    "generator_cpu_percent": self.me.cpu_percent(None),
                    "machine_load_1m": os.getloadavg()[0],
                }
            )


def summarise(result: LoadResult, samples: list[dict[str, float]], skip_s: float) -> dict:
    """The figures RESULTS.md reports."""
    steady = [s for s in samples if s["t"] >= skip_s] or samples

    def stat(key: str) -> dict[str, float]:
        values = [s[key] for s in steady]
        if not values:
            return {}
        return {
            "median": round(statistics.median(values), 1),
            "max": round(max(values), 1),
        }

    return {
        "requests": result.overall.count,
        "errors": result.overall.errors,
        "error_rate": round(result.overall.error_rate, 6),
        "cancelled": result.cancelled,
        "throughput_rps": result.overall.throughput_rps,
        "latency_ms": result.overall.latency.model_dump(),
        "by_request": {
            name: {
                "count": stats.count,
                "errors": stats.errors,
                "status_codes": stats.status_codes,
                "latency_ms": stats.latency.model_dump(),
            }
            for name, stats in result.requests.items()
        },
        "service_cpu_percent": stat("service_cpu_percent"),
        "service_rss_mb": stat("service_rss_mb"),
        "generator_cpu_percent": stat("generator_cpu_percent"),
        "machine_load_1m": stat("machine_load_1m"),
    }


def main() -> None:
    """Start the service, load it, record, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--ramp", type=float, default=20.0, help="seconds to start all users")
    parser.add_argument("--measure", type=float, default=90.0, help="measured seconds after ramp")
    parser.add_argument("--think-min", type=float, default=2.0)
    parser.add_argument("--think-max", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=30.0, help="request timeout (s)")
    parser.add_argument("--workers", type=int, default=None, help="passed to --workers")
    parser.add_argument("--extra", default="", help="extra arguments for python -m reference")
    parser.add_argument("--label", default="run", help="name of the JSON file written")
    args = parser.parse_args()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="reference-capacity-")
    command = [sys.executable, "-m", "reference", "--port", str(port), "--data-dir", data_dir]
    if args.workers:
        command += ["--workers", str(args.workers)]
    command += args.extra.split()
    log_path = HERE / f"{args.label}.service.log"
    with log_path.open("wb") as log:
        service = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    sampler: TreeSampler | None = None
    try:
        health = wait_healthy(base_url, service, timeout=90)
        print(f"service up: pid {service.pid}, health {json.dumps(health)}", flush=True)
        profile = LoadProfileConfig(
            users=args.users,
            ramp_seconds=args.ramp,
            duration_seconds=args.ramp + args.measure,
            warmup_seconds=args.ramp,
            think_min_seconds=args.think_min,
            think_max_seconds=args.think_max,
            request_timeout_seconds=args.timeout,
            progress_interval_seconds=10,
            bucket_seconds=5,
            seed=1,
        )
        scenario = predict_feedback_scenario(random_labelled_rows(seed=7))

        def show(progress: LoadProgress) -> None:
            print(
                f"t={progress.elapsed_seconds:6.1f}s users={progress.active_users:5d} "
                f"done={progress.requests:7d} rps={progress.interval_rps:7.1f} "
                f"p95={progress.interval_p95_ms} ms errors={progress.errors}",
                flush=True,
            )

        sampler = TreeSampler(service.pid)
        sampler.start()
        result = run_load(base_url, profile, scenario, progress=show)
        sampler.stop.set()
        sampler.join(timeout=5)
        evaluation = get_json(f"{base_url}/evaluation")
        summary = summarise(result, sampler.samples, skip_s=args.ramp)
        record = {
            "label": args.label,
            "when": datetime.now(UTC).isoformat(),
            "command": " ".join(sys.argv),
            "service_command": " ".join(command[1:]),
            "profile": profile.model_dump(),
            "summary": summary,
            "evaluation_after": evaluation,
            "series": [b.model_dump(exclude={"histogram"}) for b in result.series],
            "resource_samples": sampler.samples,
        }
        out = HERE / f"{args.label}.json"
        out.write_text(json.dumps(record, indent=1, default=str))
        print(json.dumps(summary, indent=1))
        print(f"evaluation after the run: {json.dumps(evaluation)}")
        print(f"written: {out}")
    finally:
        if sampler is not None:
            sampler.stop.set()
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=20)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(service.pid).children(recursive=True):
                child.kill()
            service.kill()
            service.wait(timeout=10)
        print(f"service exit code {service.returncode}", flush=True)


if __name__ == "__main__":
    main()
