"""Time synthetic-data generation and Great Expectations validation; write RESULTS.md.

Run from the repository root:

    .venv/bin/python benchmarks/synth/bench_synth.py --repetitions 5

Measures, each repeated and reported as median (min-max):
  * generate_metrics_history: 90 days x 1 minute x 11 metrics (129,600 rows);
  * validate synthetic_metrics on that frame with the real GX engine (no Data Docs);
  * validate synthetic_metric_labels on its labels;
  * build Data Docs for one validation;
  * generate_learning_stream: 30 days x 1,000 rows (river Agrawal);
  * validate learning_effectiveness on 30 daily rows;
and, once, the cost of ``import great_expectations`` and of creating the context.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPOSITORY))

RESULTS = Path(__file__).with_name("RESULTS.md")


def _time(function: Callable[[], object], repetitions: int) -> list[float]:
    timings = []
    for _ in range(repetitions):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return timings


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return str(os.cpu_count())


def main() -> None:
    """Run the measurements and write RESULTS.md next to this script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=5, help="runs per measurement")
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    arguments = parser.parse_args()
    repetitions = arguments.repetitions
    load_before = os.getloadavg()

    from vigil.scoring.learning import compute_learning_effectiveness
    from vigil.synth.config import LearningStreamConfig, MetricsHistoryConfig
    from vigil.synth.learning import generate_learning_stream
    from vigil.synth.metrics import generate_metrics_history

    metrics_config = MetricsHistoryConfig()
    learning_config = LearningStreamConfig()
    results: list[tuple[str, list[float]]] = []

    results.append(
        (
            "generate_metrics_history (90 d x 1 min, 11 metrics)",
            _time(lambda: generate_metrics_history(metrics_config, arguments.seed), repetitions),
        )
    )
    history = generate_metrics_history(metrics_config, arguments.seed)

    started = time.perf_counter()
    import great_expectations  # noqa: F401

    import_seconds = time.perf_counter() - started
    from expectations.runner import open_validation_context, validate_frame

    started = time.perf_counter()
    open_validation_context()
    context_seconds = time.perf_counter() - started

    results.append(
        (
            f"validate synthetic_metrics ({len(history.frame):,} rows, GX)",
            _time(lambda: validate_frame(history.frame, "synthetic_metrics"), repetitions),
        )
    )
    labels = history.labels_frame()
    span = {
        "data_start": history.frame["timestamp"].iloc[0].to_pydatetime(),
        "data_end": history.frame["timestamp"].iloc[-1].to_pydatetime(),
    }
    results.append(
        (
            f"validate synthetic_metric_labels ({len(labels)} rows, GX)",
            _time(lambda: validate_frame(labels, "synthetic_metric_labels", **span), repetitions),
        )
    )
    with tempfile.TemporaryDirectory() as folder:
        counter = iter(range(repetitions))
        results.append(
            (
                "validate synthetic_metrics + build Data Docs",
                _time(
                    lambda: validate_frame(
                        history.frame, "synthetic_metrics", Path(folder) / f"docs{next(counter)}"
                    ),
                    repetitions,
                ),
            )
        )
    results.append(
        (
            "generate_learning_stream (30 d x 1,000 rows, Agrawal)",
            _time(lambda: generate_learning_stream(learning_config, arguments.seed), repetitions),
        )
    )
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(arguments.seed)
    daily = pd.DataFrame(
        {
            "day": np.arange(30),
            "accuracy": 0.7 + 0.004 * np.arange(30) + rng.normal(0, 0.01, 30),
            "log_loss": 0.5,
            "count": 1000,
        }
    )
    frame = compute_learning_effectiveness(daily, seed=arguments.seed).frame()
    results.append(
        (
            "validate learning_effectiveness (30 rows, GX)",
            _time(lambda: validate_frame(frame, "learning_effectiveness", days=30), repetitions),
        )
    )

    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("numpy", "pandas", "scipy", "great_expectations", "river", "pydantic")
    )
    lines = [
        "# Synthetic data: generation and validation timings",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "- Command: `.venv/bin/python benchmarks/synth/bench_synth.py "
        f"--repetitions {repetitions}`",
        f"- Machine: {_nproc()} CPUs (nproc), {_cpu_model()}; load average before the run "
        f"{load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f} (1/5/15 min) -- "
        "the machine is shared, so absolute times vary with the other work on it.",
        f"- Python {platform.python_version()}; {versions}",
        "",
        "| step | median (s) | min (s) | max (s) | runs |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, timings in results:
        lines.append(
            f"| {name} | {statistics.median(timings):.3f} | {min(timings):.3f} | "
            f"{max(timings):.3f} | {len(timings)} |"
        )
    lines += [
        "",
        f"One-off costs: `import great_expectations` {import_seconds:.2f} s, "
        f"ephemeral context with vigil's rules {context_seconds:.2f} s.",
        "",
        "Target (issue 4): 90 days x 1 minute x all metrics generated in under 2 s.",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
