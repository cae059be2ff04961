"""What the HTML report charts besides the run's own results: saved data and earlier runs.

Loading (the data suite's Parquet files, the store's earlier runs) is kept apart from the
pure shaping (:func:`downsample`, :func:`criterion_trends`), which tests call directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from vigil.criteria import CriterionOutcome
from vigil.store import (
    DrillRecord,
    IncidentRecord,
    LearningDayRecord,
    LoadEvidence,
    PatternWindowRecord,
    ProbeSeriesRecord,
    Store,
    learning_curve,
)
from vigil.store import load_evidence as load_steps

DATA_FOLDER = "data"
CHARTED_METRICS = (
    "request_rate",
    "latency_p95_ms",
    "error_rate",
    "cpu_utilization",
    "memory_bytes",
    "model_accuracy",
)
"""The data suite's metrics the report draws (the others are in the Parquet file)."""
MAX_POINTS = 800
"""Points per drawn series: enough to show 90 days' shape, small enough for a light page."""
TREND_RUNS = 30
"""How many runs (this one included) the trends go back."""


@dataclass(frozen=True)
class Window:
    """A labelled window of the synthetic data: ground truth the chart shades."""

    metric: str
    start: str
    end: str
    kind: str


@dataclass(frozen=True)
class DataEvidence:
    """The data suite's metrics history, downsampled, and its labelled windows."""

    timestamps: list[str]
    series: dict[str, list[float | None]]
    windows: list[Window]
    samples: int


@dataclass(frozen=True)
class TrendPoint:
    """One criterion's measured value in one run."""

    run_id: str
    started_at: datetime
    measured: float
    status: str


@dataclass
class ReportEvidence:
    """Everything the HTML report draws that is not in report.json."""

    data: DataEvidence | None = None
    trends: dict[str, list[TrendPoint]] = field(default_factory=dict)
    """Per criterion name: its measured values in earlier runs and this one, oldest first."""
    load: list[LoadEvidence] = field(default_factory=list)
    """The performance suite's load steps: series, encoded histograms, resource samples."""
    learning: list[LearningDayRecord] = field(default_factory=list)
    """The learning part's daily quality, as vigil scored it."""
    drift_days: list[float] = field(default_factory=list)
    """Simulated days of the learning stream's known drifts."""
    incidents: list[IncidentRecord] = field(default_factory=list)
    """Every fault injected, with its detection and recovery instants."""
    pattern_windows: list[PatternWindowRecord] = field(default_factory=list)
    """True and reported anomaly windows and how each was scored."""
    drills: list[DrillRecord] = field(default_factory=list)
    """The readiness drills with their spans."""
    probe_series: list[ProbeSeriesRecord] = field(default_factory=list)
    """The readiness suite's probe stream, per second."""


def downsample(values: list[float], max_points: int = MAX_POINTS) -> list[int]:
    """Indices that keep at most `max_points` of `values`, each bucket's extreme kept.

    Keeping the value farthest from the bucket's mean (not the mean itself) means a spike
    survives downsampling, which is the point of looking at the chart.

    Args:
        values: The series.
        max_points: The most points to keep (at least 2).
    """
    n = len(values)
    if n <= max_points:
        return list(range(n))
    size = n / max_points
    kept = []
    for bucket in range(max_points):
        lo, hi = int(bucket * size), max(int((bucket + 1) * size), int(bucket * size) + 1)
        chunk = values[lo:hi]
        mean = sum(chunk) / len(chunk)
        offset = max(range(len(chunk)), key=lambda i: abs(chunk[i] - mean))
        kept.append(lo + offset)
    return kept


def load_data_evidence(report_dir: Path) -> DataEvidence | None:
    """The data suite's saved history and labels, if this run saved them."""
    folder = report_dir / DATA_FOLDER
    history, labels = folder / "metrics_history.parquet", folder / "metrics_labels.parquet"
    if not history.is_file():
        return None
    import pandas as pd

    frame = pd.read_parquet(history)
    metrics = [m for m in CHARTED_METRICS if m in frame.columns]
    if not metrics:
        return None
    # One index set for every series, chosen on the noisiest-looking one, so x stays shared.
    indices = sorted(set().union(*(downsample(frame[m].astype(float).tolist()) for m in metrics)))
    if len(indices) > MAX_POINTS * 2:
        step = len(indices) / (MAX_POINTS * 2)
        indices = [indices[int(i * step)] for i in range(MAX_POINTS * 2)]
    picked = frame.iloc[indices]
    windows: list[Window] = []
    if labels.is_file():
        for row in pd.read_parquet(labels).itertuples(index=False):
            windows.append(
                Window(
                    metric=str(row.metric),
                    start=pd.Timestamp(row.start).strftime("%Y-%m-%d %H:%M"),
                    end=pd.Timestamp(row.end).strftime("%Y-%m-%d %H:%M"),
                    kind=str(row.kind),
                )
            )
    return DataEvidence(
        timestamps=[pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") for t in picked["timestamp"]],
        # JSON has no NaN: a gap in a series is drawn as a gap.
        series={
            m: [float(f"{v:.4g}") if math.isfinite(v) else None for v in picked[m].astype(float)]
            for m in metrics
        },
        windows=windows,
        samples=len(frame),
    )


def criterion_trends(
    runs: list[tuple[str, datetime, list[CriterionOutcome]]],
) -> dict[str, list[TrendPoint]]:
    """Per criterion, its measured values across `runs` (oldest first), unmeasured ones left out.

    Args:
        runs: (run id, start, judged criteria) of each run, in any order.
    """
    trends: dict[str, list[TrendPoint]] = {}
    for run_id, started_at, outcomes in sorted(runs, key=lambda r: r[1]):
        for outcome in outcomes:
            if outcome.measured is None:
                continue
            trends.setdefault(outcome.name, []).append(
                TrendPoint(run_id, started_at, float(outcome.measured), outcome.status.value)
            )
    return trends


def load_evidence(store: Store, run_id: str, report_dir: Path) -> ReportEvidence:
    """The saved data of `run_id` and the trends of its criteria over the store's recent runs."""
    this = store.get_run(run_id)
    runs = [r for r in store.list_runs(limit=TREND_RUNS * 3) if r.started_at <= this.started_at]
    runs = runs[:TREND_RUNS]
    judged = [(r.id, r.started_at, store.criteria(r.id)) for r in runs]
    if this.id not in {r.id for r in runs}:
        judged.append((this.id, this.started_at, store.criteria(this.id)))
    from vigil.report.suite_charts import drift_days

    return ReportEvidence(
        data=load_data_evidence(report_dir),
        trends=criterion_trends(judged),
        load=load_steps(store, run_id, "performance"),
        learning=learning_curve(store, run_id),
        drift_days=list(drift_days(this.config)),
        incidents=store.incidents(run_id),
        pattern_windows=store.pattern_windows(run_id),
        drills=store.drills(run_id),
        probe_series=store.probe_series(run_id),
    )
