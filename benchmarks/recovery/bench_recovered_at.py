"""vigil's recovery instant vs the one the reference service records itself.

Launches the reference through vigil's process target, then injects N faults in the
experiment shape (alternately a worker SIGKILL and a worker SIGSTOP), each healed by
the reference. For each injection it compares vigil's ``recovered_at`` (the start of
the first run of good probes held for the settle time, probes every 100 ms) with the
``recovered_at`` of the reference's own incident, and prints the distribution.

    .venv/bin/python benchmarks/recovery/bench_recovered_at.py --injections 20
    .venv/bin/python benchmarks/recovery/bench_recovered_at.py --injections 20 \
        --reference-flag=--check-interval-s --reference-flag=0.1

A positive difference means vigil saw the recovery later than the reference says it
happened.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from vigil.config import ProcessTargetConfig  # noqa: E402
from vigil.faults.base import FaultContext  # noqa: E402
from vigil.faults.config import (  # noqa: E402
    ProcessHangConfig,
    ProcessKillConfig,
    RecoveryPartConfig,
    ScenarioConfig,
    ScheduledFault,
    TrafficConfig,
)
from vigil.faults.experiment import ExperimentSession, run_scenario  # noqa: E402
from vigil.targets import open_target  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--injections", type=int, default=20)
    parser.add_argument("--reference-flag", action="append", default=[])
    parser.add_argument("--json", type=Path, default=None, help="Write the raw numbers here.")
    args = parser.parse_args()

    faults = [
        ScheduledFault(
            wait_before_s=0.3,
            fault=(ProcessKillConfig if i % 2 == 0 else ProcessHangConfig)(
                label=f"{'kill' if i % 2 == 0 else 'hang'}_{i}", max_duration_s=20
            ),
        )
        for i in range(args.injections)
    ]
    scenario = ScenarioConfig(
        name="bench", traffic=TrafficConfig(rate_per_s=5, max_pairs=100_000), faults=faults
    )
    config = ProcessTargetConfig(
        name="reference",
        command=[
            "{python}",
            "-m",
            "reference",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--data-dir",
            "{workdir}",
            "--log-level",
            "warning",
            *args.reference_flag,
        ],
        cwd=REPO,
        startup_timeout_s=120,
    )
    with tempfile.TemporaryDirectory() as workdir, open_target(config, Path(workdir)) as target:
        settings = RecoveryPartConfig(max_fault_duration_s=20)
        context = FaultContext(endpoint=target.endpoint, target=target)
        began = time.monotonic()
        with ExperimentSession(context, settings, scenario.traffic, seed=1) as session:
            session.start_traffic()
            timelines, problems = run_scenario(session, scenario)
        elapsed = time.monotonic() - began

    rows = []
    for t in timelines:
        if t.recovered_at is None or t.target_recovered_at is None:
            rows.append({"fault": t.fault, "diff_ms": None})
            continue
        diff = (t.recovered_at - t.target_recovered_at).total_seconds() * 1000
        rows.append(
            {
                "fault": t.fault,
                "diff_ms": round(diff, 1),
                "vigil_ttr_s": round(t.time_to_recover_s or 0, 3),
                "diagnosed": t.diagnosed_kind,
            }
        )
    diffs = [r["diff_ms"] for r in rows if r["diff_ms"] is not None]
    print(f"python {platform.python_version()} on {platform.platform()}")
    print(f"reference flags: {' '.join(args.reference_flag) or '(defaults)'}")
    print(f"{len(timelines)} injections in {elapsed:.1f} s; problems: {problems or 'none'}")
    for r in rows:
        print(f"  {r['fault']:>8}  diff {r['diff_ms']} ms  vigil ttr {r.get('vigil_ttr_s')} s")
    if diffs:
        quantiles = statistics.quantiles(diffs, n=10) if len(diffs) >= 2 else diffs
        print(
            f"vigil - reference recovered_at: median {statistics.median(diffs):.1f} ms, "
            f"mean {statistics.fmean(diffs):.1f} ms, min {min(diffs):.1f}, max {max(diffs):.1f}, "
            f"p10 {quantiles[0]:.1f}, p90 {quantiles[-1]:.1f}; "
            f"|median| {'<=' if abs(statistics.median(diffs)) <= 200 else '>'} 200 ms"
        )
    if args.json:
        args.json.write_text(json.dumps({"flags": args.reference_flag, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
