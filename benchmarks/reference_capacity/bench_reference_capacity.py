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
import contextlib
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
from vigil.observe.resources import ResourceSampler, ResourceSamplerConfig

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


def export_reference(revision: str) -> tuple[Path, str]:
    """A directory holding reference/ at `revision`, and the last commit that changed it."""
    if revision == "worktree":
        return REPO, "worktree"
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%H", revision, "--", "reference"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    target = Path(tempfile.mkdtemp(prefix=f"reference-{commit[:8]}-"))
    archive = subprocess.run(
        ["git", "archive", commit, "reference"], cwd=REPO, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target, commit


def stop_service(service: subprocess.Popen[bytes]) -> None:
    """SIGTERM the service; kill its whole tree if it has not exited within 20 s."""
    service.send_signal(signal.SIGTERM)
    try:
        service.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(service.pid).children(recursive=True):
                child.kill()
        service.kill()
        service.wait(timeout=10)


def get_json(url: str) -> dict:
    """GET a JSON document with a short timeout."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)


def schedstat(pid: int) -> dict[str, float]:
    """Seconds on CPU and seconds runnable-but-waiting of every thread of `pid`, by thread."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            on_cpu, waiting, _ = (Path(task, "schedstat").read_text().split() + ["0"] * 3)[:3]
            name = Path(task, "comm").read_text().strip()
        except OSError:
            continue
        out[f"{pid}/{task.name}:{name}:cpu_s"] = int(on_cpu) / 1e9
        out[f"{pid}/{task.name}:{name}:runqueue_wait_s"] = int(waiting) / 1e9
    return out


def metric_buckets(base_url: str) -> dict[tuple[str, str], dict[float, float]]:
    """Cumulative server-side latency bucket counts by (endpoint, status) from GET /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    buckets: dict[tuple[str, str], dict[float, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "reference_request_duration_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                key = (sample.labels["endpoint"], sample.labels["status"])
                bound = float(sample.labels["le"])
                buckets.setdefault(key, {})[bound] = sample.value
    return buckets


def server_side_latency(
    before: dict[tuple[str, str], dict[float, float]],
    after: dict[tuple[str, str], dict[float, float]],
) -> dict[str, dict[str, float]]:
    """Share of requests within each bucket bound, and bucket-interpolated p50/p95, per endpoint."""
    report: dict[str, dict[str, float]] = {}
    for key, counts in after.items():
        if key[0] not in ("/predict", "/feedback"):
            continue
        delta = {b: c - before.get(key, {}).get(b, 0.0) for b, c in sorted(counts.items())}
        total = delta.get(float("inf"), 0.0)
        if total <= 0:
            continue
        row: dict[str, float] = {"count": total}
        for bound in (0.01, 0.1, 0.5, 1.0, 2.0):
            row[f"share_within_{bound:g}s"] = round(delta.get(bound, 0.0) / total, 4)
        for quantile in (0.5, 0.95):
            target, previous_bound, previous_count = quantile * total, 0.0, 0.0
            for bound, count in delta.items():
                if count >= target:
                    if bound == float("inf"):
                        row[f"p{int(quantile * 100)}_ms_approx"] = float("inf")
                    else:
                        part = (target - previous_count) / max(count - previous_count, 1e-9)
                        value = previous_bound + part * (bound - previous_bound)
                        row[f"p{int(quantile * 100)}_ms_approx"] = round(value * 1000, 1)
                    break
                previous_bound, previous_count = bound, count
        report[f"{key[0]} {key[1]}"] = row
    return report


class TreeSampler:
    """vigil's resource sampler on the service's tree, plus every thread's schedstat, once a second.

    CPU, memory and the generator's own CPU come from :class:`vigil.observe.resources.
    ResourceSampler` (the one the performance suite uses); the run-queue figures, which only
    this benchmark reports, from ``/proc/<pid>/task/*/schedstat`` in a second thread.
    """

    def __init__(self, root_pid: int) -> None:
        self.root = psutil.Process(root_pid)
        self.me = psutil.Process()
        self.sched: list[tuple[float, dict[str, float]]] = []
        self._resources = ResourceSampler(
            target_pid=root_pid,
            config=ResourceSamplerConfig(
                interval_seconds=1.0, max_samples=86_400, max_seconds=86_400
            ),
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_sched, daemon=True)

    @property
    def samples(self) -> list[dict[str, float]]:
        """The resource samples in the shape this script has always written."""
        rows = []
        for sample in self._resources.samples:
            tree = sample.target
            rows.append(
                {
                    "t": round(sample.elapsed_seconds, 1),
                    "service_cpu_percent": tree.cpu_percent if tree else 0.0,
                    "service_rss_mb": round(tree.rss_bytes / 2**20, 1) if tree else 0.0,
                    "service_processes": tree.processes if tree else 0,
                    "generator_cpu_percent": sample.vigil.cpu_percent,
                    "machine_load_1m": os.getloadavg()[0],
                }
            )
        return rows

    def start(self) -> None:
        """Start both samplers."""
        self._resources.start()
        self._thread.start()

    def finish(self) -> None:
        """Stop both samplers and wait for them."""
        self._stop.set()
        self._resources.stop()
        self._thread.join(timeout=5)

    def _sample_sched(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(1.0):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                procs = []
            sched: dict[str, float] = {}
            for proc in procs:
                sched.update(schedstat(proc.pid))
            sched.update(schedstat(self.me.pid))
            self.sched.append((round(time.monotonic() - started, 1), sched))


def sched_window(sched: list[tuple[float, dict[str, float]]], skip_s: float) -> dict[str, float]:
    """Per-thread CPU and run-queue wait seconds between `skip_s` and the last sample."""
    window = [s for s in sched if s[0] >= skip_s]
    if len(window) < 2:
        return {}
    (t0, first), (t1, last) = window[0], window[-1]
    deltas = {k: round(v - first.get(k, 0.0), 2) for k, v in last.items()}
    deltas["window_s"] = round(t1 - t0, 1)
    return {k: v for k, v in deltas.items() if v >= 0.05}


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
    parser.add_argument(
        "--keepalive",
        type=float,
        default=25.0,
        help="client idle keep-alive (s); below the service's 30 s so users keep their "
        "connection across think times, as browsers do",
    )
    parser.add_argument("--workers", type=int, default=None, help="passed to --workers")
    parser.add_argument("--extra", default="", help="extra arguments for python -m reference")
    parser.add_argument("--label", default="run", help="name of the JSON file written")
    parser.add_argument(
        "--at-commit",
        default="HEAD",
        help="run reference/ as committed at this revision (exported to a temp dir), so that "
        "edits in progress in the work tree are not measured; 'worktree' runs the work tree",
    )
    args = parser.parse_args()
    source_dir, revision = export_reference(args.at_commit)

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="reference-capacity-")
    command = [sys.executable, "-m", "reference", "--port", str(port), "--data-dir", data_dir]
    if args.workers:
        command += ["--workers", str(args.workers)]
    command += args.extra.split()
    log_path = HERE / f"{args.label}.service.log"
    with log_path.open("wb") as log:
        service = subprocess.Popen(command, cwd=source_dir, stdout=log, stderr=subprocess.STDOUT)
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
            stop_grace_seconds=min(args.timeout, 60),
            keepalive_seconds=args.keepalive,
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
        metrics_before = metric_buckets(base_url)
        result = run_load(base_url, profile, scenario, progress=show)
        sampler.finish()
        server_latency = server_side_latency(metrics_before, metric_buckets(base_url))
        evaluation = get_json(f"{base_url}/evaluation")
        summary = summarise(result, sampler.samples, skip_s=args.ramp)
        summary["server_side_latency"] = server_latency
        summary["threads_cpu_and_runqueue_wait"] = sched_window(sampler.sched, args.ramp)
        record = {
            "label": args.label,
            "when": datetime.now(UTC).isoformat(),
            "command": " ".join(sys.argv),
            "service_command": " ".join(command[1:]),
            "reference_revision": revision,
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
            sampler.finish()
        stop_service(service)
        print(f"service exit code {service.returncode}", flush=True)


if __name__ == "__main__":
    main()
