"""Stress ramp against the reference service: where does it stop holding p95 < 2 s?

Starts ``python -m reference`` like ``bench_reference_capacity.py`` and runs
:func:`vigil.load.find_saturation` with predict -> think (2-5 s) -> feedback users, stepping
the user count until the SLO breaks or the ceiling is reached. Usage::

    .venv/bin/python benchmarks/reference_capacity/bench_reference_saturation.py \\
        --start 250 --step 250 --max 1000 --step-seconds 40 --workers 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from bench_reference_capacity import (  # noqa: E402
    export_reference,
    free_port,
    stop_service,
    wait_healthy,
)

from vigil.load import (  # noqa: E402
    LatencySloConfig,
    LoadProfileConfig,
    StressRampConfig,
    find_saturation,
    predict_feedback_scenario,
    random_labelled_rows,
)


def main() -> None:
    """Start the service, ramp, print each step, stop the service."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=250)
    parser.add_argument("--step", type=int, default=250)
    parser.add_argument("--max", type=int, default=1000)
    parser.add_argument("--step-seconds", type=float, default=40.0)
    parser.add_argument("--step-warmup", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--p95-ms", type=float, default=2000.0)
    parser.add_argument("--label", default="saturation")
    parser.add_argument("--at-commit", default="HEAD")
    args = parser.parse_args()

    source_dir, revision = export_reference(args.at_commit)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="reference-saturation-")
    command = [sys.executable, "-m", "reference", "--port", str(port), "--data-dir", data_dir]
    command += ["--workers", str(args.workers)]
    with (HERE / f"{args.label}.service.log").open("wb") as log:
        service = subprocess.Popen(command, cwd=source_dir, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(base_url, service, timeout=90)
        base = LoadProfileConfig(
            users=1,
            duration_seconds=args.step_warmup + args.step_seconds,
            ramp_seconds=min(10.0, args.step_warmup),
            think_min_seconds=2,
            think_max_seconds=5,
            request_timeout_seconds=30,
            stop_grace_seconds=30,
            keepalive_seconds=25,
            bucket_seconds=5,
            seed=3,
        )
        ramp = StressRampConfig(
            base=base,
            start_users=args.start,
            step_users=args.step,
            max_users=args.max,
            step_seconds=args.step_seconds,
            step_warmup_seconds=args.step_warmup,
        )
        slo = LatencySloConfig(p95_ms=args.p95_ms, max_error_rate=0.01)
        result = find_saturation(
            base_url, ramp, predict_feedback_scenario(random_labelled_rows(seed=5)), slo
        )
        rows = []
        for step in result.steps:
            overall = step.result.overall
            rows.append(
                {
                    "users": step.users,
                    "within_slo": step.within_slo,
                    "rps": overall.throughput_rps,
                    "p50_ms": overall.latency.p50_ms,
                    "p95_ms": overall.latency.p95_ms,
                    "p99_ms": overall.latency.p99_ms,
                    "errors": overall.errors,
                    "reason": step.reason,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        record = {
            "when": datetime.now(UTC).isoformat(),
            "command": " ".join(sys.argv),
            "reference_revision": revision,
            "workers": args.workers,
            "saturation_users": result.saturation_users,
            "breaking_users": result.breaking_users,
            "ceiling_reached": result.ceiling_reached,
            "steps": rows,
        }
        (HERE / f"{args.label}.json").write_text(json.dumps(record, indent=1))
        print(json.dumps({k: v for k, v in record.items() if k != "steps"}, indent=1))
    finally:
        stop_service(service)


if __name__ == "__main__":
    main()
