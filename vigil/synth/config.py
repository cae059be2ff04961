"""Configuration of the synthetic data: the 90-day metrics history and the learning stream.

These models are the ``data:`` key of ``vigil.yaml``. Every rule that would make
the generators produce data that cannot be trusted (a span too short to show a
cycle, a scenario outside the span, two ground truths for the same minute of a
metric) is a validator here, so a bad file is rejected before anything runs.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.config_base import SuiteSettings

MetricName = Literal[
    "request_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "error_rate",
    "cpu_utilization",
    "memory_bytes",
    "queue_depth",
    "model_accuracy",
    "active_users_light",
    "active_users_moderate",
    "active_users_heavy",
]
METRIC_NAMES: tuple[str, ...] = get_args(MetricName)

EventKind = Literal["deploy", "config_change", "traffic_surge", "holiday"]
AnomalyKind = Literal["gradual_degradation", "spike", "intermittent", "level_shift", "bad_deploy"]
LabelKind = Literal[
    "deploy",
    "config_change",
    "traffic_surge",
    "holiday",
    "gradual_degradation",
    "spike",
    "intermittent",
    "level_shift",
    "bad_deploy",
]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
ANOMALY_KINDS: tuple[str, ...] = get_args(AnomalyKind)
LABEL_KINDS: tuple[str, ...] = get_args(LabelKind)

ScenarioKind = Literal[
    "deploy",
    "config_change",
    "traffic_surge",
    "gradual_degradation",
    "spike",
    "intermittent",
    "level_shift",
    "bad_deploy",
]

SECONDS_PER_DAY = 86_400
# A daily cycle needs at least this many samples per day to have a recognisable shape.
MIN_SAMPLES_PER_DAY = 24
# About 1 GB of float64 columns for the eleven metrics; more would not fit this kind of machine.
MAX_SAMPLES = 10_000_000

# Kinds that act on one metric the user names.
SINGLE_METRIC_KINDS = (
    "config_change",
    "gradual_degradation",
    "spike",
    "intermittent",
    "level_shift",
)
# Kinds whose consequences spread over a fixed set of metrics, each labelled.
CONSEQUENCE_METRICS: dict[str, tuple[str, ...]] = {
    "deploy": ("memory_bytes", "latency_p95_ms"),
    # Traffic drives users, CPU and (by Little's law) the number of requests in flight.
    "traffic_surge": (
        "request_rate",
        "cpu_utilization",
        "queue_depth",
        "active_users_light",
        "active_users_moderate",
        "active_users_heavy",
    ),
    # A bad deploy also restarts the process; its memory_bytes window is labelled `deploy`.
    # Slower requests stay in flight longer, so the queue grows too.
    "bad_deploy": (
        "error_rate",
        "latency_p50_ms",
        "latency_p95_ms",
        "model_accuracy",
        "queue_depth",
        "memory_bytes",
    ),
    "holiday": (
        "request_rate",
        "cpu_utilization",
        "queue_depth",
        "active_users_light",
        "active_users_moderate",
        "active_users_heavy",
    ),
}
# What a magnitude means when the user leaves it out (relative change of the metric's level).
DEFAULT_MAGNITUDE: dict[str, float] = {
    "deploy": 0.3,
    "config_change": -0.1,
    "traffic_surge": 1.0,
    "gradual_degradation": 1.0,
    "spike": 4.0,
    "intermittent": 3.0,
    "level_shift": 0.5,
    "bad_deploy": 1.0,
}
# The standard scenarios used when `scenarios` is left out: (kind, metric, position as a
# fraction of the span, duration in hours on a 90-day span, magnitude). Spread so that no two
# labelled windows of the same metric overlap, and every kind appears at least once.
STANDARD_SPAN_DAYS = 90
STANDARD_SCENARIOS: tuple[tuple[str, str | None, float, float, float | None], ...] = (
    ("deploy", None, 7.42 / 90, 0.5, None),
    ("config_change", "cpu_utilization", 12.6 / 90, 48.0, None),
    ("traffic_surge", None, 18.5 / 90, 6.0, None),
    ("spike", "latency_p95_ms", 23.3 / 90, 0.5, None),
    ("gradual_degradation", "latency_p50_ms", 33.0 / 90, 72.0, 0.8),
    ("intermittent", "error_rate", 41.2 / 90, 12.0, 5.0),
    ("level_shift", "request_rate", 50.0 / 90, 120.0, -0.3),
    ("spike", "request_rate", 57.5 / 90, 0.25, 3.0),
    ("bad_deploy", None, 63.4 / 90, 4.0, None),
    ("deploy", None, 70.2 / 90, 0.5, None),
    ("gradual_degradation", "model_accuracy", 74.0 / 90, 96.0, 0.15),
    ("spike", "error_rate", 82.6 / 90, 0.5, 8.0),
    ("traffic_surge", None, 86.3 / 90, 3.0, 0.8),
)
STANDARD_HOLIDAY_FRACTIONS: tuple[float, ...] = (25 / 90, 45 / 90, 66 / 90)

DEFAULT_METRICS_START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, so weeks align
DEFAULT_LEARNING_START = datetime(2026, 4, 6, tzinfo=UTC)


def _require_utc(value: datetime, field: str) -> datetime:
    """Return `value` in UTC, refusing a naive timestamp whose zone would be a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{field}={value.isoformat()} has no timezone; write it with one, "
            f"e.g. {value.replace(tzinfo=UTC).isoformat()}"
        )
    return value.astimezone(UTC)


def _reject_non_positive_days(value: object, field: str) -> object:
    """Give non-positive day counts a message that names the value and the fix."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
        raise ValueError(
            f"{field} must be a positive number of days, got {value}; "
            f"use e.g. {field}: 90 for the metrics history or 30 for the learning stream"
        )
    return value


class ScenarioConfig(BaseModel):
    """One injected situation: an event or an anomaly, with its window and size."""

    model_config = ConfigDict(extra="forbid")

    kind: ScenarioKind = Field(description="What happens: an event or an anomaly kind.")
    metric: MetricName | None = Field(
        default=None,
        description=(
            "The metric it acts on; required for config_change, gradual_degradation, spike, "
            "intermittent and level_shift; not allowed for deploy, bad_deploy and traffic_surge, "
            "whose consequences are fixed."
        ),
    )
    start_day: float = Field(
        ge=0, le=366, description="When it starts, in days after the start of the history."
    )
    duration_hours: float = Field(
        gt=0, le=366 * 24, description="How long it lasts (the labelled window), in hours."
    )
    magnitude: float | None = Field(
        default=None,
        ge=-0.95,
        le=100,
        description=(
            "Relative change of the metric's level at full strength (2.0 = +200 %, -0.3 = -30 %); "
            "for degradations the change goes in the harmful direction. Left out: a kind default."
        ),
    )

    @model_validator(mode="after")
    def _metric_matches_kind(self) -> ScenarioConfig:
        if self.kind in SINGLE_METRIC_KINDS and self.metric is None:
            raise ValueError(
                f"a {self.kind} scenario at day {self.start_day:g} needs `metric`: "
                f"name one of {', '.join(METRIC_NAMES)}"
            )
        if self.kind in CONSEQUENCE_METRICS and self.metric is not None:
            raise ValueError(
                f"a {self.kind} scenario acts on a fixed set of metrics "
                f"({', '.join(CONSEQUENCE_METRICS[self.kind])}); remove metric={self.metric!r}"
            )
        harmful = ("spike", "gradual_degradation", "intermittent", "bad_deploy", "deploy")
        if self.kind in harmful and self.magnitude is not None and self.magnitude <= 0:
            raise ValueError(
                f"a {self.kind} scenario needs a positive magnitude, got {self.magnitude}; "
                "the direction of harm is chosen per metric"
            )
        return self

    @property
    def end_day(self) -> float:
        """When the scenario ends, in days after the start of the history."""
        return self.start_day + self.duration_hours / 24

    @property
    def effective_magnitude(self) -> float:
        """The magnitude, or the kind's default when none was given."""
        return DEFAULT_MAGNITUDE[self.kind] if self.magnitude is None else self.magnitude

    @property
    def labelled_metrics(self) -> tuple[str, ...]:
        """The metrics whose ground truth this scenario labels."""
        if self.metric is not None:
            return (self.metric,)
        return CONSEQUENCE_METRICS[self.kind]

    def describe(self) -> str:
        """A short human description used in error messages."""
        target = self.metric or "+".join(self.labelled_metrics)
        return f"{self.kind} on {target}, days {self.start_day:g}-{self.end_day:g}"


class MetricsHistoryConfig(BaseModel):
    """Parameters of the synthetic metrics history (90 days at 1-minute resolution by default)."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=90, ge=2, le=366, description="Length of the history in days.")
    resolution_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Seconds between samples; must divide a day and leave >= 24 samples per day.",
    )
    start: datetime = Field(
        default=DEFAULT_METRICS_START, description="Timestamp of the first sample (with timezone)."
    )
    base_request_rate: float = Field(
        default=50.0, gt=0, le=1e6, description="Mean requests per second on a weekday at launch."
    )
    capacity_request_rate: float = Field(
        default=400.0,
        gt=0,
        le=1e7,
        description="Requests per second that saturate the CPU; drives utilisation and latency.",
    )
    growth_per_30_days: float = Field(
        default=0.05,
        ge=-0.5,
        le=2.0,
        description="Relative traffic growth every 30 days (0.05 = +5 % a month).",
    )
    daily_amplitude: float = Field(
        default=0.6, ge=0, le=0.95, description="Depth of the daily cycle, as a share of the mean."
    )
    weekend_factor: float = Field(
        default=0.7,
        gt=0,
        le=2.0,
        description="Traffic on Saturday and Sunday relative to weekdays.",
    )
    noise: float = Field(
        default=0.05, ge=0, le=0.5, description="Relative size of the random noise on every metric."
    )
    holidays: list[int] | None = Field(
        default=None,
        max_length=366,
        description="Days (0-based, after start) that are holidays. Left out: three standard ones.",
    )
    holiday_factor: float = Field(
        default=0.5, gt=0, le=1.0, description="Traffic on a holiday relative to an ordinary day."
    )
    scenarios: list[ScenarioConfig] | None = Field(
        default=None,
        max_length=1000,
        description="Events and anomalies to inject. Left out: a standard set covering every kind.",
    )

    @field_validator("days", mode="before")
    @classmethod
    def _days_positive(cls, value: object) -> object:
        value = _reject_non_positive_days(value, "days")
        if isinstance(value, int) and value == 1:
            raise ValueError(
                "days=1 is too short: daily seasonality is checked against the previous day; "
                "use days >= 2 (90 by default)"
            )
        return value

    @field_validator("resolution_seconds", mode="before")
    @classmethod
    def _resolution_shows_cycles(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            if value <= 0:
                raise ValueError(
                    f"resolution_seconds must be positive, got {value}; use e.g. 60 (one minute)"
                )
            if value * MIN_SAMPLES_PER_DAY > SECONDS_PER_DAY:
                raise ValueError(
                    f"resolution_seconds={value} is coarser than the daily cycle allows: it needs "
                    f"at least {MIN_SAMPLES_PER_DAY} samples a day; use at most 3600 (one hour)"
                )
            if SECONDS_PER_DAY % value:
                raise ValueError(
                    f"resolution_seconds={value} does not divide a day ({SECONDS_PER_DAY} s) "
                    "evenly; use a divisor such as 60, 300, 600 or 3600"
                )
        return value

    @field_validator("start")
    @classmethod
    def _start_in_utc(cls, value: datetime) -> datetime:
        return _require_utc(value, "start")

    @field_validator("holidays")
    @classmethod
    def _holidays_unique(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"holidays={value} lists a day twice; list each holiday once")
        return value

    @model_validator(mode="after")
    def _scenarios_fit_and_agree(self) -> MetricsHistoryConfig:
        if self.samples > MAX_SAMPLES:
            raise ValueError(
                f"days={self.days} at resolution_seconds={self.resolution_seconds} makes "
                f"{self.samples:,} samples, more than the {MAX_SAMPLES:,} vigil holds in memory; "
                "use fewer days or a coarser resolution"
            )
        for day in self.resolved_holidays():
            if not 0 <= day < self.days:
                raise ValueError(
                    f"holiday day {day} lies outside the {self.days}-day history; "
                    f"use a day from 0 to {self.days - 1}"
                )
        scenarios = self.resolved_scenarios()
        resolution_hours = self.resolution_seconds / 3600
        for index, scenario in enumerate(scenarios):
            if scenario.end_day > self.days + 1e-9:
                raise ValueError(
                    f"scenarios[{index}] ({scenario.describe()}) ends after the {self.days}-day "
                    f"history; start it earlier, shorten it or raise days"
                )
            if scenario.duration_hours < resolution_hours:
                raise ValueError(
                    f"scenarios[{index}] ({scenario.describe()}) lasts "
                    f"{scenario.duration_hours:g} h, shorter than one sample "
                    f"({self.resolution_seconds} s); lengthen it or use a finer resolution_seconds"
                )
        windows = [
            (
                metric,
                scenario.start_day,
                scenario.end_day,
                f"scenarios[{index}] ({scenario.describe()})",
            )
            for index, scenario in enumerate(scenarios)
            for metric in scenario.labelled_metrics
        ]
        windows += [
            (metric, float(day), float(day + 1), f"holiday on day {day}")
            for day in self.resolved_holidays()
            for metric in CONSEQUENCE_METRICS["holiday"]
        ]
        windows.sort(key=lambda window: (window[0], window[1]))
        for previous, current in itertools.pairwise(windows):
            if previous[0] == current[0] and current[1] < previous[2]:
                raise ValueError(
                    f"{previous[3]} and {current[3]} overlap on {current[0]}: the ground truth "
                    "would give the same minute two kinds; move or shorten one of them"
                )
        return self

    def resolved_holidays(self) -> list[int]:
        """The holiday days: the configured ones, or the standard ones spread over the span."""
        if self.holidays is not None:
            return sorted(self.holidays)
        # Standard holidays skip any day a scenario already labels on the same metrics, so the
        # standard set never contradicts itself whatever the span.
        busy = [
            (scenario.start_day, scenario.end_day)
            for scenario in self.resolved_scenarios()
            if set(scenario.labelled_metrics) & set(CONSEQUENCE_METRICS["holiday"])
        ]
        candidates = sorted({int(fraction * self.days) for fraction in STANDARD_HOLIDAY_FRACTIONS})
        return [
            day
            for day in candidates
            if not any(start < day + 1 and day < end for start, end in busy)
        ]

    def resolved_scenarios(self) -> list[ScenarioConfig]:
        """The scenarios: the configured ones, or the standard set scaled to the span."""
        if self.scenarios is not None:
            return list(self.scenarios)
        scale = min(1.0, self.days / STANDARD_SPAN_DAYS)
        minimum_hours = 2 * self.resolution_seconds / 3600
        scenarios = []
        for kind, metric, fraction, duration, magnitude in STANDARD_SCENARIOS:
            hours = max(duration * scale, minimum_hours)
            # On a short span the last scenarios are pulled back so they end inside it.
            start = min(round(fraction * self.days, 4), self.days - hours / 24)
            scenarios.append(
                ScenarioConfig(
                    kind=kind,
                    metric=metric,
                    start_day=start,
                    duration_hours=hours,
                    magnitude=magnitude,
                )
            )
        return scenarios

    @property
    def samples(self) -> int:
        """Number of timestamps in the history."""
        return self.days * SECONDS_PER_DAY // self.resolution_seconds

    @property
    def end(self) -> datetime:
        """Timestamp of the last sample."""
        return self.start + timedelta(seconds=(self.samples - 1) * self.resolution_seconds)


class DriftPointConfig(BaseModel):
    """A known change of concept in the learning stream."""

    model_config = ConfigDict(extra="forbid")

    day: float = Field(
        gt=0, le=365, description="Day (after the stream's start) the drift is centred on."
    )
    kind: Literal["sudden", "gradual"] = Field(
        description="sudden: the concept switches at once; gradual: the two mix over width_days."
    )
    width_days: float = Field(
        default=0.0, ge=0, le=365, description="Length of a gradual transition; 0 for a sudden one."
    )

    @model_validator(mode="after")
    def _width_matches_kind(self) -> DriftPointConfig:
        if self.kind == "sudden" and self.width_days != 0:
            raise ValueError(
                f"a sudden drift at day {self.day:g} has width_days={self.width_days:g}; "
                "set width_days to 0 or make it kind: gradual"
            )
        if self.kind == "gradual" and self.width_days <= 0:
            raise ValueError(
                f"a gradual drift at day {self.day:g} needs width_days > 0; "
                "give its length in days (e.g. 2) or make it kind: sudden"
            )
        return self

    @property
    def window(self) -> tuple[float, float]:
        """First and last day of the transition."""
        return (self.day - self.width_days / 2, self.day + self.width_days / 2)


class LearningStreamConfig(BaseModel):
    """Parameters of the labelled feature stream the learning-effectiveness suite replays."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=30, ge=1, le=365, description="Simulated days in the stream.")
    rows_per_day: int = Field(
        default=1000, ge=10, le=50_000, description="Labelled rows generated per simulated day."
    )
    start: datetime = Field(
        default=DEFAULT_LEARNING_START,
        description="Timestamp of the stream's first day (with timezone).",
    )
    generator: Literal["agrawal", "sea"] = Field(
        default="agrawal",
        description="river generator of the concepts: Agrawal (9 features) or SEA (3).",
    )
    concepts: list[int] | None = Field(
        default=None,
        max_length=100,
        description=(
            "Concept of each segment (Agrawal classification function 0-9 or SEA variant 0-3), "
            "one more than there are drifts. Left out: a standard sequence."
        ),
    )
    drifts: list[DriftPointConfig] | None = Field(
        default=None,
        max_length=99,
        description=(
            "Known concept drifts, in order of day. Left out: a sudden drift a third of the way "
            "in and a gradual one (over a fifteenth of the span) two thirds of the way in."
        ),
    )
    label_noise: float = Field(
        default=0.05, ge=0, le=0.5, description="Share of labels flipped at random."
    )
    label_delay_seconds: float = Field(
        default=300.0,
        ge=0,
        le=7 * SECONDS_PER_DAY,
        description="Mean delay between a row's timestamp and the moment its label is known.",
    )
    label_delay_distribution: Literal["fixed", "exponential"] = Field(
        default="exponential",
        description="Whether every label waits exactly the mean or a random time.",
    )

    @field_validator("days", mode="before")
    @classmethod
    def _days_positive(cls, value: object) -> object:
        return _reject_non_positive_days(value, "days")

    @field_validator("start")
    @classmethod
    def _start_in_utc(cls, value: datetime) -> datetime:
        return _require_utc(value, "start")

    @model_validator(mode="after")
    def _drifts_fit(self) -> LearningStreamConfig:
        drifts = self.resolved_drifts()
        previous_end = 0.0
        for index, drift in enumerate(drifts):
            first, last = drift.window
            if first <= 0 or last >= self.days:
                raise ValueError(
                    f"drifts[{index}] (day {drift.day:g}, width {drift.width_days:g}) does not lie "
                    f"inside the {self.days}-day stream; move it between day 0 and day {self.days}"
                )
            if first < previous_end or (index and drift.day <= drifts[index - 1].day):
                raise ValueError(
                    f"drifts[{index}] (day {drift.day:g}) starts before drifts[{index - 1}] has "
                    "finished; list drifts in order of day and keep their windows apart"
                )
            previous_end = last
        concepts = self.resolved_concepts()
        if len(concepts) != len(drifts) + 1:
            raise ValueError(
                f"concepts={concepts} has {len(concepts)} entries but {len(drifts)} drifts "
                f"need {len(drifts) + 1} (one per segment)"
            )
        upper = 9 if self.generator == "agrawal" else 3
        for index, concept in enumerate(concepts):
            if not 0 <= concept <= upper:
                raise ValueError(
                    f"concepts[{index}]={concept} is not a {self.generator} concept; "
                    f"use 0 to {upper}"
                )
            if index and concept == concepts[index - 1]:
                raise ValueError(
                    f"concepts[{index - 1}] and concepts[{index}] are both {concept}: that drift "
                    "would change nothing; choose a different concept"
                )
        return self

    def resolved_concepts(self) -> list[int]:
        """The concept per segment: the configured ones or a standard alternating sequence."""
        if self.concepts is not None:
            return list(self.concepts)
        # These Agrawal functions (and SEA variants) disagree on many rows, so each drift is real.
        cycle = [0, 2, 4, 6] if self.generator == "agrawal" else [0, 1, 2, 3]
        return [cycle[index % len(cycle)] for index in range(len(self.resolved_drifts()) + 1)]

    def resolved_drifts(self) -> list[DriftPointConfig]:
        """The drifts: the configured ones, or the standard pair placed on the span."""
        if self.drifts is not None:
            return list(self.drifts)
        return [
            DriftPointConfig(day=self.days / 3, kind="sudden"),
            DriftPointConfig(day=2 * self.days / 3, kind="gradual", width_days=self.days / 15),
        ]


class DataConfig(BaseModel):
    """The ``data:`` section of ``vigil.yaml``: both synthetic datasets."""

    model_config = ConfigDict(extra="forbid")

    metrics: MetricsHistoryConfig = Field(
        default_factory=MetricsHistoryConfig, description="The synthetic metrics history."
    )
    learning: LearningStreamConfig = Field(
        default_factory=LearningStreamConfig, description="The labelled learning stream."
    )


class DataSuiteConfig(DataConfig, SuiteSettings):
    """The data suite's settings (``suites.data``): whether it runs, and both datasets."""

    def datasets(self) -> DataConfig:
        """The dataset settings alone, as the other suites receive them."""
        return DataConfig(metrics=self.metrics, learning=self.learning)
