"""Replay throughput of the learning stream against the reference service, by concurrency.

The reference runs pinned to one core, this process (the replay) to the other. Each
round starts a fresh service and replays the development stream (200 rows a day,
30 days: 6,000 predictions and 6,000 labels) once per concurrency level, the levels
rotated from round to round so that no level always runs on the emptiest database.

    .venv/bin/python benchmarks/learning_replay/bench_replay.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vigil.load.replay import replay_stream  # noqa: E402
from vigil.synth.config import LearningStreamConfig  # noqa: E402
from vigil.synth.learning import generate_learning_stream  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_reference(data_dir: Path, core: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = ["taskset", "-c", str(core), sys.executable, "-m", "reference", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--log-level", "warning"]
    with open(data_dir.with_suffix(".log"), "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("reference did not become healthy")


def stop_reference(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--levels", default="1,4,8,16,32")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]
    os.sched_setaffinity(0, {0})
    stream = generate_learning_stream(LearningStreamConfig(rows_per_day=200), args.seed)
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        for round_index in range(args.rounds):
            process, url = start_reference(Path(tmp) / f"round-{round_index}", core=1)
            try:
                shift = round_index % len(levels)
                for level in levels[shift:] + levels[:shift]:
                    load = os.getloadavg()[0]
                    outcome = replay_stream(
                        stream.frame, stream.feature_names, url, concurrency=level, time_cap_s=300
                    )
                    requests = outcome.predictions_answered + outcome.labels_accepted
                    runs.append(
                        {
                            "round": round_index,
                            "concurrency": level,
                            "elapsed_s": outcome.elapsed_s,
                            "requests": requests,
                            "requests_per_s": requests / outcome.elapsed_s,
                            "load_average_1m": load,
                        }
                    )
                    print(json.dumps(runs[-1]), flush=True)
            finally:
                stop_reference(process)
    summary = {}
    for level in levels:
        elapsed = [run["elapsed_s"] for run in runs if run["concurrency"] == level]
        summary[level] = {
            "median_elapsed_s": statistics.median(elapsed),
            "median_requests_per_s": 12000 / statistics.median(elapsed),
        }
    base = summary[levels[0]]["median_elapsed_s"]
    for level in levels:
        summary[level]["speed_up_vs_first"] = base / summary[level]["median_elapsed_s"]
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    Path(args.out).write_text(
        json.dumps({"meta": meta, "runs": runs, "summary": summary}, indent=2)
    )
    for level, row in summary.items():
        print(level, json.dumps(row))


if __name__ == "__main__":
    main()
