"""Request and response models of the pattern analyzer (`POST /patterns/analyze`).

The request carries one or more metric series sampled at shared instants, given
either as explicit timestamps or as a start and a fixed step. Everything that
can be wrong with a request is rejected here, with a message naming the bad
value and the fix, so that :func:`reference.patterns.analyze` never has to
guess. The HTTP layer turns the resulting ``ValidationError`` into a 422.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, Self

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

MAX_SERIES = 32
"""Most series one request may carry."""
MAX_POINTS_PER_SERIES = 200_000
"""Most values per series (about 139 days at 1-minute resolution)."""
MAX_TOTAL_POINTS = 1_500_000
"""Most values over all series of one request: about what fits the service's 32 MiB body limit."""
MAX_ABS_VALUE = 1e18
"""Largest accepted magnitude of a value (keeps squares and sums far from overflow)."""
MAX_METRIC_NAME_LENGTH = 128
"""Longest accepted metric name."""
EARLIEST_EPOCH_SECONDS = 0.0
"""1970-01-01T00:00:00Z: earliest accepted instant."""
LATEST_EPOCH_SECONDS = 7_258_118_400.0
"""2200-01-01T00:00:00Z: latest accepted instant (pandas' nanosecond clock ends in 2262)."""
MAX_STEP_SECONDS = 7 * 86_400
"""Coarsest accepted fixed step: one week."""


def _format_utc(moment: datetime) -> str:
    """Render an instant as ISO 8601 in UTC with a ``Z`` suffix."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


UtcDatetime = Annotated[datetime, PlainSerializer(_format_utc, return_type=str)]
"""A timezone-aware instant serialised as ``2026-01-31T14:00:00Z``."""

Sensitivity = Literal["low", "medium", "high"]
AnomalyKind = Literal["spike", "dip", "level_shift", "gradual_degradation", "intermittent"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

TimestampValue = StrictStr | StrictInt | StrictFloat
"""An ISO 8601 string (naive means UTC) or seconds since the Unix epoch."""


def parse_timestamps(raw: list[TimestampValue]) -> np.ndarray:
    """Parse request timestamps into int64 nanoseconds since the epoch (UTC).

    Raises:
        ValueError: naming the first unparsable or out-of-range entry and the fix.
    """
    import pandas as pd

    if not raw:
        return np.empty(0, dtype=np.int64)
    kinds = {type(item) for item in raw}
    if bool in kinds:
        index = next(i for i, item in enumerate(raw) if isinstance(item, bool))
        raise ValueError(
            f"timestamps[{index}] is a boolean ({raw[index]!r}); send an ISO 8601 string "
            "or epoch seconds"
        )
    if kinds <= {int, float}:
        seconds = np.asarray(raw, dtype=np.float64)
        bad = ~np.isfinite(seconds) | (seconds < EARLIEST_EPOCH_SECONDS)
        bad |= seconds > LATEST_EPOCH_SECONDS
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"timestamps[{index}] = {raw[index]!r} is not epoch seconds between 1970 and "
                "2200; send seconds (not milliseconds) since 1970-01-01T00:00:00Z"
            )
        return np.round(seconds * 1e9).astype(np.int64)
    if kinds <= {str}:
        # One vectorised pass; unreadable or out-of-range entries become NaT.
        parsed = pd.to_datetime(pd.Series(raw), format="ISO8601", utc=True, errors="coerce")
        unreadable = parsed.isna().to_numpy()
        if unreadable.any():
            index = int(np.flatnonzero(unreadable)[0])
            raise ValueError(
                f"timestamps[{index}] = {raw[index]!r} is not an ISO 8601 date-time "
                "between 1970 and 2200; send e.g. '2026-01-31T14:00:00Z'"
            )
        nanos = parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        low, high = int(EARLIEST_EPOCH_SECONDS * 1e9), int(LATEST_EPOCH_SECONDS * 1e9)
        bad = (nanos < low) | (nanos > high)
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"timestamps[{index}] = {raw[index]!r} is outside 1970..2200; "
                "send instants within that range"
            )
        return nanos
    raise ValueError(
        "timestamps mix ISO 8601 strings and epoch numbers; send all entries in one form"
    )


class PatternRequest(BaseModel):
    """Metric series to analyse, sampled at shared instants.

    Give either ``timestamps`` (one per value; ISO 8601 strings or epoch
    seconds; unsorted, duplicated and gappy input is accepted) or ``start``
    with ``step_seconds`` (values evenly spaced from ``start``). Limits: at
    most 32 series, each of 1..200,000 finite values within +/-1e18, all of the same length.
    """

    model_config = ConfigDict(extra="forbid")

    timestamps: list[TimestampValue] | None = Field(
        default=None,
        max_length=MAX_POINTS_PER_SERIES,
        description=(
            "Sampling instants, one per value of every series: ISO 8601 strings (naive means "
            "UTC) or seconds since the Unix epoch. Omit when giving `start` and `step_seconds`."
        ),
    )
    start: datetime | None = Field(
        default=None,
        description="Instant of the first value when the series are evenly spaced (naive = UTC).",
    )
    step_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_STEP_SECONDS,
        description="Seconds between consecutive values when `start` is given (1 s .. 1 week).",
    )
    series: dict[
        Annotated[str, Field(min_length=1, max_length=MAX_METRIC_NAME_LENGTH)],
        Annotated[list[float], Field(min_length=1, max_length=MAX_POINTS_PER_SERIES)],
    ] = Field(
        min_length=1,
        max_length=MAX_SERIES,
        description=(
            "Metric name -> values (finite numbers), 1..32 series of 1..200,000 values and "
            "1,500,000 in all, "
            "all of the same length as `timestamps` (or as each other with `start`)."
        ),
    )
    sensitivity: Sensitivity = Field(
        default="medium",
        description=(
            "How readily to report anomalies: `low` reports only the clearest, `high` also "
            "reports weaker ones."
        ),
    )

    @field_validator("series")
    @classmethod
    def _values_are_finite(cls, series: dict[str, list[float]]) -> dict[str, list[float]]:
        """Reject NaN and infinities, naming the series and the index."""
        total = sum(len(values) for values in series.values())
        if total > MAX_TOTAL_POINTS:
            raise ValueError(
                f"the series hold {total:,} values in all, more than {MAX_TOTAL_POINTS:,}; "
                "split them over several requests or send a coarser resolution"
            )
        for name, values in series.items():
            array = np.asarray(values, dtype=np.float64)
            bad = ~np.isfinite(array)
            if bad.any():
                index = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"series {name!r} has a non-finite value ({values[index]}) at index {index}; "
                    "send only finite numbers (drop the point or interpolate it)"
                )
            huge = np.abs(array) > MAX_ABS_VALUE
            if huge.any():
                index = int(np.flatnonzero(huge)[0])
                raise ValueError(
                    f"series {name!r} has {values[index]!r} at index {index}, beyond +/-1e18; "
                    "send the metric in a larger unit (e.g. GB instead of bytes)"
                )
        return series

    @field_validator("start")
    @classmethod
    def _start_in_range(cls, start: datetime | None) -> datetime | None:
        """Make `start` timezone-aware UTC and keep it within 1970..2200."""
        if start is None:
            return None
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        seconds = start.timestamp()
        if not EARLIEST_EPOCH_SECONDS <= seconds <= LATEST_EPOCH_SECONDS:
            raise ValueError(f"start {start.isoformat()} is outside 1970..2200")
        return start.astimezone(UTC)

    @model_validator(mode="after")
    def _one_time_axis_of_the_right_length(self) -> Self:
        """Require exactly one way of giving the time axis, matching every series in length."""
        spaced = self.start is not None or self.step_seconds is not None
        if self.timestamps is not None and spaced:
            raise ValueError("give either 'timestamps' or 'start' with 'step_seconds', not both")
        if self.timestamps is None and not spaced:
            raise ValueError(
                "no time axis: give 'timestamps' (one per value) or 'start' and 'step_seconds'"
            )
        if self.timestamps is None and (self.start is None or self.step_seconds is None):
            missing = "start" if self.start is None else "step_seconds"
            raise ValueError(
                f"'{missing}' is missing: evenly spaced series need both 'start' and 'step_seconds'"
            )
        if self.timestamps is not None:
            expected, axis = len(self.timestamps), "'timestamps'"
            parse_timestamps(self.timestamps)
        else:
            first_name = next(iter(self.series))
            expected, axis = len(self.series[first_name]), f"series {first_name!r}"
        for name, values in self.series.items():
            if len(values) != expected:
                raise ValueError(
                    f"series {name!r} has {len(values)} values but {axis} has {expected}; "
                    "every series needs exactly one value per timestamp"
                )
        return self

    def timestamps_ns(self) -> np.ndarray:
        """The sampling instants as int64 nanoseconds since the epoch, in request order."""
        if self.timestamps is not None:
            return parse_timestamps(self.timestamps)
        assert self.start is not None and self.step_seconds is not None
        length = len(next(iter(self.series.values())))
        start_ns = round(self.start.timestamp() * 1e9)
        return start_ns + np.arange(length, dtype=np.int64) * self.step_seconds * 1_000_000_000


class Anomaly(BaseModel):
    """A window in which one metric behaved abnormally."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(description="Name of the series, as in the request.")
    start: UtcDatetime = Field(description="First instant of the anomalous window.")
    end: UtcDatetime = Field(description="Last instant of the anomalous window (inclusive).")
    kind: AnomalyKind = Field(
        description=(
            "spike / dip: short excursion above / below the expected value; level_shift: "
            "sudden lasting change of level; gradual_degradation: sustained drift in the bad "
            "direction; intermittent: repeated short excursions close together."
        )
    )
    score: float = Field(
        ge=0.0,
        description="Severity in robust standard deviations of the metric's normal noise.",
    )


class DailySeasonalityPattern(BaseModel):
    """A repeating daily cycle."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    kind: Literal["daily_seasonality"] = "daily_seasonality"
    strength: float = Field(
        ge=0.0, le=1.0, description="Share of the non-trend variation explained by the cycle."
    )
    autocorrelation: float = Field(ge=-1.0, le=1.0, description="ACF at the 1-day lag.")
    peak_hour: int = Field(ge=0, le=23, description="Hour of day (UTC) of the highest level.")
    peak_hours: list[int] = Field(description="Hours of day (UTC) near the peak level, sorted.")
    trough_hour: int = Field(ge=0, le=23, description="Hour of day (UTC) of the lowest level.")


class WeeklySeasonalityPattern(BaseModel):
    """A repeating weekly cycle beyond the daily one (e.g. weekdays vs weekends)."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    kind: Literal["weekly_seasonality"] = "weekly_seasonality"
    strength: float = Field(
        ge=0.0, le=1.0, description="Share of the non-daily variation explained by the week."
    )
    autocorrelation: float = Field(
        ge=-1.0, le=1.0, description="ACF at the 1-week lag after removing the daily cycle."
    )
    peak_days: list[Weekday] = Field(description="Days of week (UTC) with the higher level.")
    trough_days: list[Weekday] = Field(description="Days of week (UTC) with the lower level.")


class TrendPattern(BaseModel):
    """A monotonic trend over the whole span."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    kind: Literal["trend"] = "trend"
    direction: Literal["increasing", "decreasing"]
    slope_per_day: float = Field(description="Theil-Sen slope, in the metric's units per day.")
    relative_slope_per_day: float = Field(
        description="Slope per day divided by the metric's median level (0 if the median is 0)."
    )
    p_value: float = Field(ge=0.0, le=1.0, description="Mann-Kendall (Kendall tau) p-value.")


class ChangePointPattern(BaseModel):
    """An instant at which the metric's level changed and stayed changed."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    kind: Literal["change_point"] = "change_point"
    at: UtcDatetime = Field(description="First instant at the new level.")
    level_before: float = Field(description="Median level of the segment before.")
    level_after: float = Field(description="Median level of the segment after.")
    magnitude: float = Field(
        ge=0.0, description="Size of the change in robust standard deviations of the noise."
    )
    holds_seconds: float | None = Field(
        default=None,
        ge=0.0,
        description=(
            "How long the new level held before the metric came back over half of the change "
            "(seen up to two days after the change; None when not measured)."
        ),
    )


Pattern = Annotated[
    DailySeasonalityPattern | WeeklySeasonalityPattern | TrendPattern | ChangePointPattern,
    Field(discriminator="kind"),
]


class IntervalWindow(BaseModel):
    """A one-off interval of time."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["interval"] = "interval"
    start: UtcDatetime
    end: UtcDatetime | None = Field(default=None, description="None means open-ended (from now).")


class RecurringWindow(BaseModel):
    """A window that repeats every day or every week (UTC)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["recurring"] = "recurring"
    hours: list[int] = Field(description="Hours of day (UTC), sorted; empty means all day.")
    days: list[Weekday] = Field(description="Days of week (UTC); empty means every day.")


RecommendationWindow = Annotated[IntervalWindow | RecurringWindow, Field(discriminator="kind")]

RecommendationAction = Literal[
    "scale_up",
    "scale_down",
    "investigate",
    "rollback_deploy",
    "add_capacity_alerting",
    "add_anomaly_alerting",
]


class Recommendation(BaseModel):
    """An operational action suggested by what was found."""

    model_config = ConfigDict(extra="forbid")

    action: RecommendationAction
    target: str = Field(description="The metric (or the service behind it) the action concerns.")
    window: RecommendationWindow = Field(description="When to act, one-off or recurring.")
    rationale: str = Field(description="What was observed that motivates the action.")
    expected_effect: str = Field(description="What should change if the action is taken.")


class AnalysisSummary(BaseModel):
    """What the analyzer received and how it read it."""

    model_config = ConfigDict(extra="forbid")

    points: int = Field(ge=0, description="Values received, over all series.")
    metrics: list[str] = Field(description="Series names, in request order.")
    start: UtcDatetime = Field(description="Earliest instant.")
    end: UtcDatetime = Field(description="Latest instant.")
    span_seconds: float = Field(ge=0.0, description="end - start, in seconds.")
    resolution_seconds: float = Field(
        ge=0.0, description="Inferred step: the median gap between distinct timestamps."
    )
    aligned_points: int = Field(
        ge=0, description="Points per series after alignment to the inferred step."
    )
    missing_steps: int = Field(ge=0, description="Steps of the aligned grid that had no value.")
    duplicate_timestamps: int = Field(
        ge=0, description="Values that shared an instant with another (averaged)."
    )
    sensitivity: Sensitivity
    notes: list[str] = Field(
        default_factory=list, description="Why some analyses were skipped or limited."
    )


class PatternResponse(BaseModel):
    """Anomalies, patterns and recommendations found in the request's series."""

    model_config = ConfigDict(extra="forbid")

    anomalies: list[Anomaly] = Field(description="Anomalous windows, ordered by start.")
    patterns: list[Pattern] = Field(description="Seasonality, trends and change points.")
    recommendations: list[Recommendation]
    summary: AnalysisSummary
