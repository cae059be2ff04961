"""The synthetic metrics history of a continuous-learning service, with its ground truth.

The history is built in one vectorised pass: a traffic curve (daily and weekly
cycles, slow growth, holidays, surges, noise) drives the metrics that depend on
load (CPU, latency, queue, users); deploys and a bad deploy act on the metrics
they touch; then single-metric anomalies are applied to their metric only, so
that every visible departure from normal behaviour is covered by a label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy.signal import lfilter

from vigil.synth.config import (
    CONSEQUENCE_METRICS,
    METRIC_NAMES,
    SECONDS_PER_DAY,
    LabelKind,
    MetricName,
    MetricsHistoryConfig,
    ScenarioConfig,
)

# Integer-valued metrics (counts and bytes); every other metric is a float.
INTEGER_METRICS = (
    "memory_bytes",
    "queue_depth",
    "active_users_light",
    "active_users_moderate",
    "active_users_heavy",
)
# Physical range of each metric: (lower, upper); None = unbounded.
METRIC_RANGES: dict[str, tuple[float, float | None]] = {
    "request_rate": (0.0, None),
    "latency_p50_ms": (0.0, None),
    "latency_p95_ms": (0.0, None),
    "error_rate": (0.0, 1.0),
    "cpu_utilization": (0.0, 1.0),
    "memory_bytes": (0.0, None),
    "queue_depth": (0.0, None),
    "model_accuracy": (0.0, 1.0),
    "active_users_light": (0.0, None),
    "active_users_moderate": (0.0, None),
    "active_users_heavy": (0.0, None),
}
# Metrics where harm means going down; for all others harm means going up.
LOWER_IS_WORSE = frozenset({"model_accuracy"})

# Share of traffic each user profile sends, and requests per second one user of it sends.
PROFILE_TRAFFIC_SHARE = {"light": 0.3, "moderate": 0.4, "heavy": 0.3}
PROFILE_REQUESTS_PER_USER = {"light": 0.01, "moderate": 0.05, "heavy": 0.25}

MEMORY_BASE_BYTES = 2 * 1024**3
MEMORY_LEAK_BYTES_PER_DAY = 64 * 1024**2
MEMORY_WORKING_SET_BYTES = 512 * 1024**2
LATENCY_P50_BASE_MS = 35.0
ERROR_RATE_BASE = 0.002
MODEL_ACCURACY_BASE = 0.92
CPU_IDLE = 0.06


class LabelledWindow(BaseModel):
    """Ground truth: a metric behaved in a known way between two timestamps (both inclusive)."""

    model_config = ConfigDict(frozen=True)

    metric: MetricName = Field(description="The metric the window is about.")
    start: datetime = Field(description="First affected sample (UTC).")
    end: datetime = Field(description="Last affected sample (UTC), inclusive.")
    kind: LabelKind = Field(description="The event or anomaly kind.")


# Metrics that follow the traffic curve in proportion, so they carry its daily and weekly cycles
# at full depth. Latency and memory follow it too, but weakly (a few per cent of their level),
# so their cycles are neither promised nor ruled out.
CYCLE_METRICS: tuple[str, ...] = (
    "request_rate",
    "cpu_utilization",
    "queue_depth",
    "active_users_light",
    "active_users_moderate",
    "active_users_heavy",
)
# Metrics built with no daily cycle (the error rate with no cycle at all): a daily cycle
# reported on them is wrong.
ACYCLIC_METRICS: dict[str, tuple[str, ...]] = {
    "error_rate": ("daily", "weekly"),
    "model_accuracy": ("daily",),
}


class CycleTruth(BaseModel):
    """Ground truth of one metric's daily or weekly cycle, or that it has none."""

    model_config = ConfigDict(frozen=True)

    metric: MetricName = Field(description="The metric the truth is about.")
    period: Literal["daily", "weekly"] = Field(description="Which cycle.")
    present: bool = Field(description="Whether the generator built this cycle into the metric.")
    peak_hour: int | None = Field(
        default=None, ge=0, le=23, description="Daily: hour of day (UTC) of the highest level."
    )
    trough_hour: int | None = Field(
        default=None, ge=0, le=23, description="Daily: hour of day (UTC) of the lowest level."
    )
    peak_days: tuple[int, ...] = Field(
        default=(), description="Weekly: days of week (UTC, 0 = Monday) at the higher level."
    )
    trough_days: tuple[int, ...] = Field(
        default=(), description="Weekly: days of week (UTC, 0 = Monday) at the lower level."
    )


def _daily_curve(hour: np.ndarray) -> np.ndarray:
    """The shape of a day's traffic: a mid-afternoon peak with a morning shoulder, in [-1, 1]."""
    return (
        np.sin(2 * np.pi * (hour - 9.0) / 24.0) + 0.25 * np.sin(4 * np.pi * (hour - 7.0) / 24.0)
    ) / 1.25


def cycle_truth(config: MetricsHistoryConfig) -> list[CycleTruth]:
    """The cycles `config` builds into the metrics, in UTC hours and weekdays.

    The traffic curve runs on time since the history's start; this turns its
    peak and trough into UTC hours of day and its weekend into UTC weekdays,
    whatever the start's time of day.

    Args:
        config: The history's configuration.
    """
    start_seconds = config.start.hour * 3600 + config.start.minute * 60 + config.start.second
    minutes = np.arange(24 * 60) / 60.0
    curve = _daily_curve(minutes)
    peak = int(((start_seconds / 3600 + minutes[int(np.argmax(curve))]) % 24) // 1)
    trough = int(((start_seconds / 3600 + minutes[int(np.argmin(curve))]) % 24) // 1)
    # One week of minutes: the generator's weekend flag against the UTC weekday of each minute.
    offsets = np.arange(7 * 24 * 60) * 60
    weekend = ((offsets // SECONDS_PER_DAY + config.start.weekday()) % 7) >= 5
    calendar_day = (config.start.weekday() + (start_seconds + offsets) // SECONDS_PER_DAY) % 7
    weekend_share = np.array([weekend[calendar_day == day].mean() for day in range(7)])
    low_days = tuple(int(day) for day in np.flatnonzero(weekend_share > 0.5))
    high_days = tuple(int(day) for day in np.flatnonzero(weekend_share <= 0.5))
    if config.weekend_factor > 1.0:
        low_days, high_days = high_days, low_days
    daily = config.daily_amplitude > 0
    weekly = config.weekend_factor != 1.0
    truths: list[CycleTruth] = []
    for metric in CYCLE_METRICS:
        truths.append(
            CycleTruth(
                metric=metric,
                period="daily",
                present=daily,
                peak_hour=peak if daily else None,
                trough_hour=trough if daily else None,
            )
        )
        truths.append(
            CycleTruth(
                metric=metric,
                period="weekly",
                present=weekly,
                peak_days=high_days if weekly else (),
                trough_days=low_days if weekly else (),
            )
        )
    for metric, periods in ACYCLIC_METRICS.items():
        truths.extend(CycleTruth(metric=metric, period=period, present=False) for period in periods)
    return truths


@dataclass(frozen=True)
class MetricsHistory:
    """A generated metrics history: the samples, their labels and how they were made."""

    frame: pd.DataFrame
    """One row per timestamp: `timestamp` (UTC) and one column per metric."""
    labels: list[LabelledWindow]
    """Every injected event and anomaly, per metric it affects."""
    parameters: dict[str, Any] = field(default_factory=dict)
    """The seed and the full configuration, for the report."""
    cycles: list[CycleTruth] = field(default_factory=list)
    """The daily and weekly cycles the generator built in (and where it built none)."""

    def labels_frame(self) -> pd.DataFrame:
        """The labels as a DataFrame with columns metric, start, end, kind."""
        columns = ["metric", "start", "end", "kind"]
        if not self.labels:
            return pd.DataFrame(
                {
                    "metric": pd.Series([], dtype=str),
                    "start": pd.Series([], dtype="datetime64[ns, UTC]"),
                    "end": pd.Series([], dtype="datetime64[ns, UTC]"),
                    "kind": pd.Series([], dtype=str),
                }
            )
        frame = pd.DataFrame([label.model_dump() for label in self.labels], columns=columns)
        frame["start"] = pd.to_datetime(frame["start"], utc=True)
        frame["end"] = pd.to_datetime(frame["end"], utc=True)
        return frame


def _smooth_noise(rng: np.random.Generator, size: int, persistence: float = 0.95) -> np.ndarray:
    """Unit-variance AR(1) noise: neighbouring minutes are alike, as in real metrics."""
    white = rng.standard_normal(size)
    series = lfilter([np.sqrt(1 - persistence**2)], [1.0, -persistence], white)
    return 0.6 * series + 0.4 * rng.standard_normal(size)


def _window_slice(scenario: ScenarioConfig, resolution: int, samples: int) -> slice:
    """The sample indices a scenario covers."""
    first = round(scenario.start_day * SECONDS_PER_DAY / resolution)
    count = max(1, round(scenario.duration_hours * 3600 / resolution))
    return slice(first, min(first + count, samples))


def _harm_sign(metric: str) -> float:
    return -1.0 if metric in LOWER_IS_WORSE else 1.0


def _anomaly_multiplier(
    kind: str, metric: str, magnitude: float, length: int, rng: np.random.Generator
) -> np.ndarray:
    """The factor a single-metric scenario multiplies its metric by, over its window."""
    if kind in ("level_shift", "config_change"):
        return np.full(length, 1.0 + magnitude)
    if kind == "spike":
        return np.full(length, max(0.0, 1.0 + _harm_sign(metric) * magnitude))
    if kind == "gradual_degradation":
        ramp = np.linspace(0.0, 1.0, length)
        return np.maximum(0.0, 1.0 + _harm_sign(metric) * magnitude * ramp)
    if kind == "intermittent":
        # Short failure bursts (a few samples each) covering about a quarter of the window.
        burst = max(1, min(5, length // 8))
        starts = rng.random(length) < 0.25 / burst
        starts[0] = True
        active = np.convolve(starts.astype(float), np.ones(burst), mode="full")[:length] > 0
        factor = np.ones(length)
        factor[active] = max(0.0, 1.0 + _harm_sign(metric) * magnitude)
        return factor
    raise ValueError(f"{kind} is not a single-metric scenario kind")


def generate_metrics_history(config: MetricsHistoryConfig, seed: int) -> MetricsHistory:
    """Generate the metrics history described by `config`, deterministically from `seed`.

    Args:
        config: Span, resolution, cycles, noise, holidays and scenarios.
        seed: Seed of numpy's ``default_rng``; the same seed gives the same history.

    Returns:
        The samples, the labelled windows (ground truth) and the parameters used.
    """
    rng = np.random.default_rng(seed)
    resolution = config.resolution_seconds
    samples = config.samples
    offsets = np.arange(samples, dtype=np.int64) * resolution
    timestamps = pd.DatetimeIndex(
        pd.Timestamp(config.start) + pd.to_timedelta(offsets, unit="s"), name="timestamp"
    ).as_unit("ns")
    day_index = offsets // SECONDS_PER_DAY
    hour = (offsets % SECONDS_PER_DAY) / 3600.0
    weekday = (day_index + config.start.weekday()) % 7
    elapsed_days = offsets / SECONDS_PER_DAY

    # Traffic: a daily curve peaking mid-afternoon with a morning shoulder, lower weekends.
    daily = _daily_curve(hour)
    traffic = 1.0 + config.daily_amplitude * daily
    traffic *= np.where(weekday >= 5, config.weekend_factor, 1.0)
    traffic *= (1.0 + config.growth_per_30_days) ** (elapsed_days / 30.0)
    holidays = config.resolved_holidays()
    traffic *= np.where(np.isin(day_index, holidays), config.holiday_factor, 1.0)

    scenarios = config.resolved_scenarios()
    windows = [_window_slice(scenario, resolution, samples) for scenario in scenarios]
    for scenario, window in zip(scenarios, windows, strict=True):
        if scenario.kind == "traffic_surge":
            length = window.stop - window.start
            # A surge ramps up and down over a tenth of its window each way.
            ramp = max(1, length // 10)
            shape = np.minimum(
                1.0, np.minimum(np.arange(1, length + 1), np.arange(length, 0, -1)) / ramp
            )
            traffic[window] *= 1.0 + scenario.effective_magnitude * shape

    request_rate = (
        config.base_request_rate * traffic * np.exp(config.noise * _smooth_noise(rng, samples))
    )

    users: dict[str, np.ndarray] = {}
    for profile, share in PROFILE_TRAFFIC_SHARE.items():
        per_user = PROFILE_REQUESTS_PER_USER[profile]
        wobble = np.exp(0.5 * config.noise * _smooth_noise(rng, samples))
        users[profile] = np.rint(request_rate * share / per_user * wobble)

    utilisation = CPU_IDLE + (1 - CPU_IDLE) * request_rate / config.capacity_request_rate
    utilisation = utilisation * (1 + 0.3 * config.noise * _smooth_noise(rng, samples))
    utilisation = np.clip(utilisation, 0.0, 0.99)
    # Queueing: waiting grows as 1/(1-u); capped so a saturated minute stays finite.
    queueing = 1.0 / (1.0 - np.minimum(utilisation, 0.95))
    latency_p50 = LATENCY_P50_BASE_MS * (0.75 + 0.25 * queueing)
    latency_p50 *= np.exp(config.noise * _smooth_noise(rng, samples))
    latency_p95 = latency_p50 * (2.2 + 0.8 * utilisation)
    latency_p95 *= np.exp(0.5 * config.noise * _smooth_noise(rng, samples))
    error_rate = ERROR_RATE_BASE * (1.0 + 20.0 * np.maximum(0.0, utilisation - 0.8) ** 2)
    error_rate *= np.exp(2 * config.noise * _smooth_noise(rng, samples))
    accuracy = MODEL_ACCURACY_BASE + 0.01 * np.sin(2 * np.pi * elapsed_days / 7.0)
    accuracy = accuracy + 0.1 * config.noise * _smooth_noise(rng, samples)

    # Memory leaks slowly and is reset by every deploy (a fresh process).
    deploy_starts = sorted(
        window.start
        for scenario, window in zip(scenarios, windows, strict=True)
        if scenario.kind in ("deploy", "bad_deploy")
    )
    last_reset = np.zeros(samples, dtype=np.int64)
    for start in deploy_starts:
        last_reset[start:] = start
    since_reset_days = (np.arange(samples) - last_reset) * resolution / SECONDS_PER_DAY
    memory = (
        MEMORY_BASE_BYTES
        + MEMORY_LEAK_BYTES_PER_DAY * since_reset_days
        + MEMORY_WORKING_SET_BYTES * request_rate / config.base_request_rate
    ) * np.exp(0.2 * config.noise * _smooth_noise(rng, samples))

    series: dict[str, np.ndarray] = {
        "request_rate": request_rate,
        "latency_p50_ms": latency_p50,
        "latency_p95_ms": latency_p95,
        "error_rate": error_rate,
        "cpu_utilization": utilisation,
        "memory_bytes": memory,
        "queue_depth": np.zeros(samples),
        "model_accuracy": accuracy,
        "active_users_light": users["light"],
        "active_users_moderate": users["moderate"],
        "active_users_heavy": users["heavy"],
    }

    for scenario, window in zip(scenarios, windows, strict=True):
        magnitude = scenario.effective_magnitude
        if scenario.kind == "deploy":
            # Latency rises while instances roll over.
            series["latency_p95_ms"][window] *= 1.0 + magnitude
        elif scenario.kind == "bad_deploy":
            series["error_rate"][window] *= 1.0 + 5.0 * magnitude
            series["latency_p50_ms"][window] *= 1.0 + magnitude
            series["latency_p95_ms"][window] *= 1.0 + 1.5 * magnitude
            series["model_accuracy"][window] *= max(0.0, 1.0 - 0.2 * magnitude)

    # In-flight requests by Little's law, drawn as counts; computed after deploy effects so a
    # slow deploy also queues.
    in_flight = series["request_rate"] * series["latency_p50_ms"] / 1000.0
    series["queue_depth"] = rng.poisson(np.maximum(in_flight, 0.0)).astype(float)

    for scenario, window in zip(scenarios, windows, strict=True):
        if scenario.metric is not None:
            length = window.stop - window.start
            series[scenario.metric][window] *= _anomaly_multiplier(
                scenario.kind, scenario.metric, scenario.effective_magnitude, length, rng
            )

    series["latency_p95_ms"] = np.maximum(series["latency_p95_ms"], series["latency_p50_ms"])
    frame = pd.DataFrame({"timestamp": timestamps})
    for name in METRIC_NAMES:
        lower, upper = METRIC_RANGES[name]
        values = np.clip(series[name], lower, upper)
        frame[name] = np.rint(values).astype(np.int64) if name in INTEGER_METRICS else values

    labels = _labels(config, scenarios, windows, timestamps)
    parameters = {
        "seed": seed,
        "config": config.model_dump(mode="json"),
        "resolved_scenarios": [scenario.model_dump(mode="json") for scenario in scenarios],
        "resolved_holidays": holidays,
        "samples": samples,
    }
    return MetricsHistory(
        frame=frame, labels=labels, parameters=parameters, cycles=cycle_truth(config)
    )


def _labels(
    config: MetricsHistoryConfig,
    scenarios: list[ScenarioConfig],
    windows: list[slice],
    timestamps: pd.DatetimeIndex,
) -> list[LabelledWindow]:
    """One labelled window per scenario and metric it affects, plus each holiday."""
    labels: list[LabelledWindow] = []
    for scenario, window in zip(scenarios, windows, strict=True):
        start, end = (
            timestamps[window.start].to_pydatetime(),
            timestamps[window.stop - 1].to_pydatetime(),
        )
        for metric in scenario.labelled_metrics:
            # A bad deploy is also a deploy: its memory reset is the benign part of it.
            kind = (
                "deploy"
                if scenario.kind == "bad_deploy" and metric == "memory_bytes"
                else scenario.kind
            )
            labels.append(LabelledWindow(metric=metric, start=start, end=end, kind=kind))
    per_day = SECONDS_PER_DAY // config.resolution_seconds
    for day in config.resolved_holidays():
        start = timestamps[day * per_day].to_pydatetime()
        end = timestamps[(day + 1) * per_day - 1].to_pydatetime()
        for metric in CONSEQUENCE_METRICS["holiday"]:
            labels.append(LabelledWindow(metric=metric, start=start, end=end, kind="holiday"))
    labels.sort(key=lambda label: (label.start, label.metric))
    return labels
