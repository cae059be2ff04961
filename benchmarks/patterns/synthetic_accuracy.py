"""pattern_accuracy of `reference.patterns.analyze` on vigil's synthetic 90-day metrics history.

For each seed, generates the default history (90 days at 1 minute, eleven
metrics, the standard scenarios) with ``vigil.synth``, sends all metrics in one
request (values rounded to 6 decimals, as the workflow suite sends them), and
scores the answer with :func:`vigil.scoring.patterns.score_patterns` -- the
same scoring the workflow suite's ``patterns`` part applies, with its default
settings. The two broken modes of the reference (``--patterns-mode none`` and
``random``) are scored on the same seeds, side by side.

Run from the repository root::

    .venv/bin/python -m benchmarks.patterns.synthetic_accuracy [--seeds 11 12 ...] [--no-write]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable

import numpy as np

from benchmarks.patterns.results_file import fmt, machine_lines, write_section
from reference.patterns import PatternRequest, PatternResponse, analyze, decoys
from vigil.scoring.patterns import PatternAnswer, PatternScore, PatternsPartConfig, score_patterns
from vigil.synth.config import ANOMALY_KINDS, MetricsHistoryConfig
from vigil.synth.metrics import generate_metrics_history

TUNING_SEEDS = (1, 2, 3, 4, 5, 6, 7)
EVALUATION_SEEDS = (11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
ANALYZERS: dict[str, Callable[[PatternRequest], PatternResponse]] = {
    "reference analyzer": analyze,
    "patterns-mode none": decoys.nothing_found,
    "patterns-mode random": decoys.random_findings,
}


def run_seed(
    seed: int, analyzer: Callable[[PatternRequest], PatternResponse]
) -> tuple[PatternScore, float]:
    """Generate one history, analyse it, score the answer; return the score and the seconds."""
    config = MetricsHistoryConfig()
    history = generate_metrics_history(config, seed=seed)
    frame = history.frame
    metrics = [column for column in frame.columns if column != "timestamp"]
    step = int((frame["timestamp"].iloc[1] - frame["timestamp"].iloc[0]).total_seconds())
    request = PatternRequest(
        start=frame["timestamp"].iloc[0].to_pydatetime(),
        step_seconds=step,
        series={name: np.round(frame[name].to_numpy(float), 6).tolist() for name in metrics},
    )
    started = time.perf_counter()
    response = analyzer(request)
    elapsed = time.perf_counter() - started
    answer = PatternAnswer.model_validate(response.model_dump(mode="json"))
    score = score_patterns(
        answer, history.labels, history.cycles, config.growth_per_30_days, PatternsPartConfig()
    )
    return score, elapsed


def _row(label: str, score: PatternScore, seconds: float) -> str:
    detection = score.detection
    return (
        f"| {label} | **{score.pattern_accuracy:.3f}** | {score.pattern_f1:.2f} | "
        f"{fmt(score.pattern_precision)} | {fmt(score.pattern_recall)} | "
        f"{score.seasonality_accuracy:.2f} | {score.recommendation_precision:.2f} "
        f"({len(score.recommendations)}) | {detection.reported} / {detection.neutral_reports} | "
        f"{seconds:.1f} s |"
    )


def main(argv: list[str] | None = None) -> int:
    """Score the analyzers on the seeds, print and write the RESULTS.md section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(EVALUATION_SEEDS))
    parser.add_argument("--no-write", action="store_true", help="print only, keep RESULTS.md")
    args = parser.parse_args(argv)
    header = [
        "| seed | pattern_accuracy | F1 | precision | recall | seasonality "
        "| recommendations right (made) | reports counted / neutral | analyze time |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    seed_rows: list[str] = []
    summary: list[str] = [
        "| analyzer | mean pattern_accuracy | min | seeds above 0.80 | mean F1 "
        "| mean seasonality | mean recommendations right |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    kinds: dict[str, Counter[str]] = {"labelled": Counter(), "detected": Counter(),
                                      "expected": Counter()}  # fmt: skip
    seconds: list[float] = []
    for name, analyzer in ANALYZERS.items():
        scores = []
        for seed in args.seeds:
            score, elapsed = run_seed(seed, analyzer)
            scores.append(score)
            if name == "reference analyzer":
                seed_rows.append(_row(str(seed), score, elapsed))
                seconds.append(elapsed)
                for kind, counts in score.detection.per_kind.items():
                    kinds["labelled"][kind] += counts.labelled
                    kinds["detected"][kind] += counts.detected
                    kinds["expected"][kind] += counts.detected_as_expected
        accuracies = [s.pattern_accuracy for s in scores]
        summary.append(
            f"| {name} | **{statistics.mean(accuracies):.3f}** | {min(accuracies):.3f} | "
            f"{sum(a > 0.8 for a in accuracies)} of {len(accuracies)} | "
            f"{statistics.mean(s.pattern_f1 for s in scores):.2f} | "
            f"{statistics.mean(s.seasonality_accuracy for s in scores):.2f} | "
            f"{statistics.mean(s.recommendation_precision for s in scores):.2f} |"
        )
    kind_lines = [
        "| truth kind | labelled | detected | detected as the expected kind |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {kind} | {kinds['labelled'][kind]} | {kinds['detected'][kind]} | "
            f"{kinds['expected'][kind]} |"
            for kind in ANOMALY_KINDS
        ),
    ]
    command = "cd /work/main && .venv/bin/python -m benchmarks.patterns.synthetic_accuracy"
    if argv:
        command += " " + shlex.join(argv)
    tuned = set(args.seeds) & set(TUNING_SEEDS)
    body = "\n".join(
        [
            "## Synthetic 90-day history (vigil.synth): pattern_accuracy",
            "",
            f"Command: `{command}`",
            "",
            *machine_lines(),
            f"- Seeds {', '.join(map(str, args.seeds))} "
            + (
                f"(tuning seeds among them: {sorted(tuned)})"
                if tuned
                else "(evaluation seeds: none was used for tuning)"
            )
            + f"; 11 series x 129,600 points per request; `analyze` median "
            f"{statistics.median(seconds):.1f} s",
            "",
            "Scored with `vigil.scoring.patterns.score_patterns` and the default "
            "`PatternsPartConfig` (weights: detection F1 0.4, seasonality 0.2, recommendations "
            "0.4; tolerances 1 h and 15 min) -- the definition above, unchanged while tuning.",
            "",
            *summary,
            "",
            "Reference analyzer per seed:",
            "",
            *header,
            *seed_rows,
            "",
            *kind_lines,
        ]
    )
    print(body)
    if not args.no_write:
        write_section("synthetic", body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
