"""Accuracy of `reference.patterns.analyze` on vigil's synthetic 90-day metrics history.

For each seed, generates the default history (90 days at 1 minute, eleven
metrics, the standard scenarios) with ``vigil.synth``, sends all metrics in one
request, and scores the anomaly windows against the generator's labelled
windows, per metric:

* recall: anomaly labels (kinds spike, level_shift, gradual_degradation,
  intermittent, bad_deploy) overlapped by a report on the same metric;
* strict precision: reports that overlap an anomaly label of their metric;
* lenient precision: reports that overlap any label of their metric, events
  included (holidays, traffic surges, deploys, configuration changes really do
  move the metrics; reporting them is right, though not an injected fault).

Run from the repository root::

    .venv/bin/python -m benchmarks.patterns.synthetic_accuracy [--seeds 1 2 3 6 7] [--no-write]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from collections import Counter

from benchmarks.patterns.results_file import fmt, machine_lines, write_section
from reference.patterns import PatternRequest, analyze
from vigil.scoring.windows import Interval, overlaps
from vigil.synth.config import ANOMALY_KINDS, MetricsHistoryConfig
from vigil.synth.metrics import generate_metrics_history

# Which reported kinds describe each labelled anomaly kind (a bad deploy shows as any of them).
MATCHING_KINDS: dict[str, set[str]] = {
    "spike": {"spike", "dip"},
    "level_shift": {"level_shift"},
    "gradual_degradation": {"gradual_degradation"},
    "intermittent": {"intermittent"},
    "bad_deploy": {"spike", "dip", "level_shift", "gradual_degradation", "intermittent"},
}


def _interval(start: object, end: object) -> Interval:
    return (start.timestamp(), end.timestamp())  # type: ignore[attr-defined]


def run_seed(seed: int) -> dict[str, object]:
    """Generate one history, analyse it, and count hits and misses."""
    history = generate_metrics_history(MetricsHistoryConfig(), seed=seed)
    frame = history.frame
    metrics = [column for column in frame.columns if column != "timestamp"]
    step = int((frame["timestamp"].iloc[1] - frame["timestamp"].iloc[0]).total_seconds())
    request = PatternRequest(
        start=frame["timestamp"].iloc[0].to_pydatetime(),
        step_seconds=step,
        series={name: frame[name].astype(float).tolist() for name in metrics},
    )
    started = time.perf_counter()
    response = analyze(request)
    elapsed = time.perf_counter() - started

    labelled: Counter[str] = Counter()
    detected: Counter[str] = Counter()
    kind_matched: Counter[str] = Counter()
    strict = lenient = 0
    for metric in metrics:
        reports = [a for a in response.anomalies if a.metric == metric]
        labels = [label for label in history.labels if label.metric == metric]
        anomaly_labels = [label for label in labels if label.kind in ANOMALY_KINDS]
        for label in anomaly_labels:
            window = _interval(label.start, label.end)
            hits = [r for r in reports if overlaps(window, _interval(r.start, r.end))]
            labelled[label.kind] += 1
            detected[label.kind] += bool(hits)
            kind_matched[label.kind] += any(r.kind in MATCHING_KINDS[label.kind] for r in hits)
        for report in reports:
            window = _interval(report.start, report.end)
            strict += any(overlaps(window, _interval(lb.start, lb.end)) for lb in anomaly_labels)
            lenient += any(overlaps(window, _interval(lb.start, lb.end)) for lb in labels)
    return {
        "seed": seed,
        "reported": len(response.anomalies),
        "strict": strict,
        "lenient": lenient,
        "labelled": labelled,
        "detected": detected,
        "kind_matched": kind_matched,
        "seconds": elapsed,
        "points": sum(len(v) for v in request.series.values()),
        "series": len(metrics),
    }


def _per_series(run: dict[str, object]) -> int:
    return int(run["points"]) // int(run["series"])  # type: ignore[call-overload]


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def main(argv: list[str] | None = None) -> int:
    """Score the analyzer on several seeds, print and write the RESULTS.md section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 6, 7])
    parser.add_argument("--no-write", action="store_true", help="print only, keep RESULTS.md")
    args = parser.parse_args(argv)

    runs = [run_seed(seed) for seed in args.seeds]
    lines = [
        "| seed | reported | labelled | detected | recall | strict precision | strict F1 "
        "| lenient precision | lenient F1 | analyze time |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    totals: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {"labelled": Counter(), "detected": Counter(),
                                        "kind_matched": Counter()}  # fmt: skip
    for run in runs:
        labelled = sum(run["labelled"].values())  # type: ignore[attr-defined]
        detected = sum(run["detected"].values())  # type: ignore[attr-defined]
        reported = int(run["reported"])  # type: ignore[arg-type]
        recall = detected / labelled if labelled else None
        strict = run["strict"] / reported if reported else None  # type: ignore[operator]
        lenient = run["lenient"] / reported if reported else None  # type: ignore[operator]
        lines.append(
            f"| {run['seed']} | {reported} | {labelled} | {detected} | {fmt(recall)} | "
            f"{fmt(strict)} | {fmt(_f1(strict, recall))} | {fmt(lenient)} | "
            f"{fmt(_f1(lenient, recall))} | {run['seconds']:.1f} s |"
        )
        totals.update(
            labelled=labelled,
            detected=detected,
            reported=reported,
            strict=int(run["strict"]),  # type: ignore[arg-type]
            lenient=int(run["lenient"]),  # type: ignore[arg-type]
        )
        for key in by_kind:
            by_kind[key].update(run[key])  # type: ignore[arg-type]
    recall = totals["detected"] / totals["labelled"] if totals["labelled"] else None
    strict = totals["strict"] / totals["reported"] if totals["reported"] else None
    lenient = totals["lenient"] / totals["reported"] if totals["reported"] else None
    lines.append(
        f"| **all** | {totals['reported']} | {totals['labelled']} | {totals['detected']} | "
        f"**{fmt(recall)}** | **{fmt(strict)}** | **{fmt(_f1(strict, recall))}** | "
        f"**{fmt(lenient)}** | **{fmt(_f1(lenient, recall))}** | |"
    )
    kind_lines = [
        "| labelled kind | labelled | detected | detected with the matching kind |",
        "| --- | ---: | ---: | ---: |",
    ]
    for kind in ANOMALY_KINDS:
        kind_lines.append(
            f"| {kind} | {by_kind['labelled'][kind]} | {by_kind['detected'][kind]} | "
            f"{by_kind['kind_matched'][kind]} |"
        )
    seconds = [float(run["seconds"]) for run in runs]  # type: ignore[arg-type]
    command = "cd /work/main && .venv/bin/python -m benchmarks.patterns.synthetic_accuracy"
    if argv:
        command += " " + shlex.join(argv)
    body = "\n".join(
        [
            "## Synthetic 90-day history (vigil.synth): window accuracy",
            "",
            f"Command: `{command}`",
            "",
            *machine_lines(),
            f"- Each request: {runs[0]['series']} series x {_per_series(runs[0])} "
            f"points (90 days at 1 minute); `analyze` median {statistics.median(seconds):.1f} s "
            f"over {len(seconds)} seeds",
            "",
            "Default `MetricsHistoryConfig` (standard scenarios), one request with every metric. "
            "Recall: anomaly labels (spike, level_shift, gradual_degradation, intermittent, "
            "bad_deploy) overlapped by a report on the same metric. Strict precision: reports "
            "overlapping an anomaly label of their metric. Lenient precision: reports "
            "overlapping any label of their metric, events included (holidays, traffic surges, "
            "deploys and configuration changes move the metrics for real).",
            "",
            *lines,
            "",
            *kind_lines,
            "",
            "What was seen while tuning: seed 1 was inspected during development (the per-hour "
            "noise scaling, the merging of overlapping ramps, the de-duplication of shifts and "
            "the second cycle search with level steps removed came from reading its false "
            "positives); seeds 4 and 5 (not in this table) were used to pick between threshold "
            "settings; seeds 2, 3, 6 and 7 were only scored. Most strict false positives are "
            "real, unlabelled behaviour of the generator: `memory_bytes` leaks steadily and "
            "steps at weekday/weekend boundaries (the leak itself is reported as "
            "`gradual_degradation`), and the edges of holidays and traffic surges move every "
            "load-driven metric (those count as true under lenient precision).",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("synthetic", body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
