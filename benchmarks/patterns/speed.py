"""Time `reference.patterns.analyze` on 90 days at 1-minute resolution.

Builds requests from vigil's synthetic history (seed 1) with 1, 4 and all 11
metrics, plus the largest request the model accepts (32 series of 200,000
points, seed 2), validates each once, then times ``analyze`` several times and
reports the median (and the validation time, which the HTTP layer also pays).

Run from the repository root::

    .venv/bin/python -m benchmarks.patterns.speed [--repeats 5] [--no-write]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time

from benchmarks.patterns.results_file import machine_lines, write_section
from reference.patterns import PatternRequest, analyze
from reference.patterns.models import MAX_POINTS_PER_SERIES, MAX_SERIES, MAX_TOTAL_POINTS
from vigil.synth.config import MetricsHistoryConfig
from vigil.synth.metrics import generate_metrics_history

SUBSETS: tuple[tuple[str, ...], ...] = (
    ("latency_p95_ms",),
    ("request_rate", "latency_p95_ms", "error_rate", "cpu_utilization"),
    (),  # every metric
)


def _limit_row(repeats: int) -> str:
    """Time the largest request the model accepts: 32 series, 1,500,000 values in all."""
    points = min(MAX_POINTS_PER_SERIES, MAX_TOTAL_POINTS // MAX_SERIES)
    days = -(-points // 1440)
    frame = generate_metrics_history(MetricsHistoryConfig(days=max(2, days)), seed=2).frame
    frame = frame.iloc[:points]
    metrics = [column for column in frame.columns if column != "timestamp"]
    series = {
        f"{metrics[i % len(metrics)]}_{i}": frame[metrics[i % len(metrics)]].astype(float).tolist()
        for i in range(MAX_SERIES)
    }
    body = {"start": frame["timestamp"].iloc[0].isoformat(), "step_seconds": 60, "series": series}
    began = time.perf_counter()
    request = PatternRequest.model_validate(body)
    validate = time.perf_counter() - began
    timings = []
    for _ in range(max(1, repeats // 2)):
        began = time.perf_counter()
        analyze(request)
        timings.append(time.perf_counter() - began)
    return (
        f"| {MAX_SERIES} (the limit) | {len(frame)} | {validate:.2f} s | "
        f"**{statistics.median(timings):.2f} s** | {min(timings):.2f} s | {max(timings):.2f} s |"
    )


def main(argv: list[str] | None = None) -> int:
    """Time the analyzer and write the `speed` section of RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only, keep RESULTS.md")
    args = parser.parse_args(argv)

    frame = generate_metrics_history(MetricsHistoryConfig(), seed=1).frame
    metrics = [column for column in frame.columns if column != "timestamp"]
    start = frame["timestamp"].iloc[0].to_pydatetime()
    lines = [
        "| series | points per series | validate (once) | analyze median | min | max |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for subset in SUBSETS:
        names = list(subset) or metrics
        body = {
            "start": start.isoformat(),
            "step_seconds": 60,
            "series": {name: frame[name].astype(float).tolist() for name in names},
        }
        began = time.perf_counter()
        request = PatternRequest.model_validate(body)
        validate = time.perf_counter() - began
        timings = []
        for _ in range(args.repeats):
            began = time.perf_counter()
            analyze(request)
            timings.append(time.perf_counter() - began)
        lines.append(
            f"| {len(names)} | {len(frame)} | {validate:.2f} s | "
            f"**{statistics.median(timings):.2f} s** | {min(timings):.2f} s | "
            f"{max(timings):.2f} s |"
        )
        print(lines[-1], flush=True)
    lines.append(_limit_row(args.repeats))
    print(lines[-1], flush=True)
    command = "cd /work/main && .venv/bin/python -m benchmarks.patterns.speed"
    if argv:
        command += " " + shlex.join(argv)
    section = "\n".join(
        [
            "## Speed: 90 days at 1-minute resolution",
            "",
            f"Command: `{command}`",
            "",
            *machine_lines(),
            f"- {args.repeats} timed runs of `analyze` per row (after one validation of the "
            "request); the data is vigil.synth's default history, seed 1",
            "",
            *lines,
            "",
            "The slow analyses (cycles, ruptures' binary segmentation, ramps, trend) run on a "
            "coarse copy of at most ~1,500 points per series; only alignment, the seasonal "
            "profiles and the residual z-scores touch all 129,600 points.",
        ]
    )
    if not args.no_write:
        write_section("speed", section)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
