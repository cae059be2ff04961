"""Latency statistics of a load run: HDR histograms, typed results and their exact merge.

Latencies are recorded in microseconds into HDR histograms (1 µs to 60 s, 3 significant
digits), one per request name plus one overall, and every request that got an outcome is
recorded, failures included (a timeout is recorded at the time it was given up). Results carry
the encoded histograms, so results of shards that ran in parallel merge exactly: the merged
percentiles are those of one histogram fed every value.
"""

from __future__ import annotations

import binascii
import functools
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum

import numpy as np
from hdrh.codec import HdrCookieException, HdrLengthException
from hdrh.histogram import HdrHistogram
from pydantic import BaseModel, ConfigDict, Field

from vigil.load.config import LoadModel

LOWEST_US = 1
HIGHEST_US = 60_000_000
SIGNIFICANT_DIGITS = 3
PERCENTILES = (50.0, 90.0, 95.0, 99.0)
OVERALL = "overall"
_DECODE_ERRORS = (
    ValueError,
    TypeError,
    zlib.error,
    binascii.Error,
    HdrCookieException,
    HdrLengthException,
)


class ErrorKind(StrEnum):
    """Why a request failed."""

    STATUS_1XX = "status_1xx"
    STATUS_2XX = "status_2xx"
    """A 2xx the step did not expect (e.g. 200 where 202 was the contract)."""
    STATUS_3XX = "status_3xx"
    STATUS_4XX = "status_4xx"
    STATUS_5XX = "status_5xx"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    """Connection refused, reset or closed by the server before an answer."""
    BAD_RESPONSE = "bad_response"
    """The answer could not be read or lacked what the step extracts from it."""

    @classmethod
    def for_status(cls, status: int) -> ErrorKind:
        """The error kind of an unexpected HTTP status."""
        return cls(f"status_{min(max(status // 100, 1), 5)}xx")


class StopReason(StrEnum):
    """What ended a load run."""

    DURATION = "duration"
    MAX_REQUESTS = "max_requests"
    STOP_REQUESTED = "stop_requested"
    ROWS_EXHAUSTED = "rows_exhausted"


def new_histogram() -> HdrHistogram:
    """An empty latency histogram in microseconds (1 µs to 60 s, 3 significant digits)."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def record_latency(histogram: HdrHistogram, microseconds: float) -> None:
    """Record one latency, clamped into the histogram's range (beyond 60 s reads as 60 s)."""
    record_us(histogram, min(max(int(microseconds), LOWEST_US), HIGHEST_US))


_LAYOUT = new_histogram()
_HALF_MAGNITUDE = _LAYOUT.sub_bucket_half_count_magnitude
_HALF_COUNT = _LAYOUT.sub_bucket_half_count
_SUB_BUCKET_MASK = _LAYOUT.sub_bucket_mask
assert _LAYOUT.unit_magnitude == 0, "record_us assumes a lowest trackable value of 1"
del _LAYOUT


def record_us(histogram: HdrHistogram, microseconds: int) -> None:
    """Record one value already within 1 µs..60 s into a standard histogram, fast.

    The same counts index as ``HdrHistogram.record_value`` computes, with ``int.bit_length``
    in place of its string-based leading-zero count: this runs twice per request.
    """
    bucket = (microseconds | _SUB_BUCKET_MASK).bit_length() - _HALF_MAGNITUDE - 1
    histogram.counts[
        ((bucket + 1) << _HALF_MAGNITUDE) + (microseconds >> bucket) - _HALF_COUNT
    ] += 1
    histogram.total_count += 1
    if microseconds < histogram.min_value:
        histogram.min_value = microseconds
    if microseconds > histogram.max_value:
        histogram.max_value = microseconds


def encode_histogram(histogram: HdrHistogram) -> str:
    """The histogram's standard HDR encoding (compressed, base64) as text."""
    return histogram.encode().decode("ascii")


def decode_histogram(encoded: str) -> HdrHistogram:
    """Rebuild a histogram from :func:`encode_histogram`'s text."""
    histogram = new_histogram()
    if encoded:
        try:
            histogram.decode_and_add(encoded.encode("ascii"))
        except _DECODE_ERRORS as exc:
            raise ValueError(f"not an encoded HDR histogram: {encoded[:40]!r}... ({exc})") from exc
    return histogram


def percentile_values(histogram: HdrHistogram, percentiles: Sequence[float]) -> list[int]:
    """The histogram's values at `percentiles`, exactly as ``get_value_at_percentile`` gives.

    One vectorised cumulative sum instead of hdrh's pure-Python walk over all 17 408 counts per
    percentile (about 12 ms each), so summarising a time bucket stays cheap during a run.
    """
    total = histogram.get_total_count()
    if total == 0:
        return [0 for _ in percentiles]
    counts = np.ctypeslib.as_array(histogram.counts)[: histogram.counts_len]
    cumulative = np.cumsum(counts, dtype=np.int64)
    values = []
    for percentile in percentiles:
        target = histogram.get_target_count_at_percentile(percentile)
        index = min(int(np.searchsorted(cumulative, target, side="left")), len(counts) - 1)
        value = histogram.get_value_from_index(index)
        values.append(
            histogram.get_highest_equivalent_value(value)
            if percentile
            else histogram.get_lowest_equivalent_value(value)
        )
    return values


def _standard_layout(histogram: HdrHistogram) -> bool:
    return (
        histogram.lowest_trackable_value,
        histogram.highest_trackable_value,
        histogram.significant_figures,
    ) == (LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


@functools.cache
def _median_equivalents(counts_len: int) -> np.ndarray:
    """The median-equivalent value of every index of the standard histogram layout.

    Index i holds the values ``sub << bucket`` .. ``(sub << bucket) + (1 << bucket) - 1``, where
    the first half-bucket (bucket -1) is folded into bucket 0, as in hdrh.
    """
    index = np.arange(counts_len, dtype=np.int64)
    bucket = (index >> _HALF_MAGNITUDE) - 1
    sub = (index & (_HALF_COUNT - 1)) + _HALF_COUNT
    first = bucket < 0
    sub[first] -= _HALF_COUNT
    bucket[first] = 0
    lowest = sub << bucket
    return (lowest + ((np.int64(1) << bucket) >> 1)).astype(np.float64)


def mean_value(histogram: HdrHistogram) -> float:
    """The histogram's mean, as ``get_mean_value`` computes it, vectorised."""
    total = histogram.get_total_count()
    if total == 0:
        return 0.0
    if not _standard_layout(histogram):
        return float(histogram.get_mean_value())
    counts = np.ctypeslib.as_array(histogram.counts)[: histogram.counts_len].astype(np.float64)
    return float(np.dot(counts, _median_equivalents(histogram.counts_len)[: len(counts)]) / total)


def _ms(microseconds: int) -> float:
    return round(microseconds / 1000.0, 3)


class LatencySummary(BaseModel):
    """Percentiles of one histogram in milliseconds (all None when nothing was recorded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    min_ms: float | None = None
    mean_ms: float | None = None

    @classmethod
    def of(cls, histogram: HdrHistogram, *, with_mean: bool = True) -> LatencySummary:
        """Summarise a histogram (the mean walks every bucket: skip it where speed matters)."""
        if histogram.get_total_count() == 0:
            return cls()
        p50, p90, p95, p99 = percentile_values(histogram, PERCENTILES)
        return cls(
            p50_ms=_ms(p50),
            p90_ms=_ms(p90),
            p95_ms=_ms(p95),
            p99_ms=_ms(p99),
            max_ms=_ms(histogram.get_max_value()),
            min_ms=_ms(histogram.get_min_value()),
            mean_ms=round(mean_value(histogram) / 1000.0, 3) if with_mean else None,
        )


class RequestStats(BaseModel):
    """Counts, errors, throughput and latency of one request name (or of all requests)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Step name, or 'overall'.")
    count: int = Field(ge=0, description="Requests that got an outcome, failures included.")
    errors: dict[str, int] = Field(default_factory=dict, description="Failures by ErrorKind.")
    status_codes: dict[str, int] = Field(
        default_factory=dict, description="Answers by HTTP status (as text, for JSON)."
    )
    throughput_rps: float = Field(ge=0, description="count / measured seconds.")
    latency: LatencySummary = Field(default_factory=LatencySummary)
    histogram: str = Field(description="Encoded HDR histogram (µs), for exact merges.")

    @property
    def error_count(self) -> int:
        """Number of failed requests."""
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float:
        """Share of requests that failed (0 when none were sent)."""
        return self.error_count / self.count if self.count else 0.0


class TimeBucket(BaseModel):
    """Traffic of one slice of time, for charts and saturation analysis."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_seconds: float = Field(ge=0, description="Start of the bucket, from the run's start.")
    requests: int = Field(ge=0, description="Requests completed within the bucket.")
    errors: int = Field(ge=0, description="Of which failed.")
    throughput_rps: float = Field(ge=0)
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    active_users: int = Field(
        ge=0, description="Users alive (closed) or iterations in flight (open) at its end."
    )
    histogram: str | None = Field(
        default=None, description="Encoded histogram of the bucket, when kept."
    )


class LoadProgress(BaseModel):
    """What a long run reports to its progress callback every few seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    elapsed_seconds: float
    requests: int = Field(description="Requests completed since the start.")
    errors: int = Field(description="Failures since the start.")
    interval_rps: float = Field(description="Throughput since the previous report.")
    interval_p95_ms: float | None = Field(description="p95 since the previous report.")
    active_users: int
    late_sends: int = Field(default=0, description="Open model: late sends since the start.")
    dropped_sends: int = Field(default=0, description="Open model: dropped sends since the start.")


class LoadResult(BaseModel):
    """Everything a load run measured; pass/fail is decided elsewhere."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str
    model: LoadModel
    users: int = Field(description="Configured users (summed over shards).")
    started_at: datetime
    finished_at: datetime
    measured_seconds: float = Field(
        ge=0, description="Seconds the summary statistics cover (after warmup)."
    )
    stop_reason: StopReason
    overall: RequestStats
    requests: dict[str, RequestStats] = Field(description="Statistics by step name.")
    cancelled: int = Field(
        default=0, ge=0, description="Requests still in flight at the stop, cancelled unanswered."
    )
    late_sends: int = Field(
        default=0,
        ge=0,
        description="Open model: arrivals that found every slot (users) busy and waited for "
        "one; their wait is part of their latency.",
    )
    dropped_sends: int = Field(
        default=0,
        ge=0,
        description="Open model: arrivals due within the run that were never sent, because the "
        "backlog of waiting arrivals was full or the run ended while they waited.",
    )
    bucket_seconds: float = Field(description="Width of the buckets of the time series.")
    series: list[TimeBucket] = Field(
        default_factory=list, description="Every request, by time of completion."
    )
    step_series: dict[str, list[TimeBucket]] = Field(
        default_factory=dict, description="The time series of each step, by step name."
    )
    shards: int = Field(default=1, ge=1, description="How many results were merged into this.")

    @property
    def error_rate(self) -> float:
        """Share of all measured requests that failed."""
        return self.overall.error_rate


class RequestRecorder:
    """Accumulates the outcome of requests of one name: histogram, errors, statuses."""

    __slots__ = ("count", "errors", "histogram", "name", "statuses")

    def __init__(self, name: str) -> None:
        self.name = name
        self.histogram = new_histogram()
        self.count = 0
        self.errors: Counter[str] = Counter()
        # Counted by number on the hot path, turned into text (for JSON) only in stats().
        self.statuses: Counter[int] = Counter()

    def record(self, latency_us: float, status: int | None, error: ErrorKind | None) -> None:
        """Add one request's outcome."""
        record_latency(self.histogram, latency_us)
        self.count += 1
        if error is not None:
            self.errors[error.value] += 1
        if status is not None:
            self.statuses[status] += 1

    def absorb(self, other: RequestRecorder) -> None:
        """Add everything `other` recorded (exact: histograms are added)."""
        self.histogram.add(other.histogram)
        self.count += other.count
        self.errors.update(other.errors)
        self.statuses.update(other.statuses)

    def stats(self, measured_seconds: float) -> RequestStats:
        """The typed statistics of everything recorded so far."""
        return RequestStats(
            name=self.name,
            count=self.count,
            errors=dict(sorted(self.errors.items())),
            status_codes={str(code): n for code, n in sorted(self.statuses.items())},
            throughput_rps=round(self.count / measured_seconds, 3) if measured_seconds > 0 else 0.0,
            latency=LatencySummary.of(self.histogram),
            histogram=encode_histogram(self.histogram),
        )


def bucket_of(
    start_seconds: float,
    bucket_seconds: float,
    histogram: HdrHistogram,
    errors: int,
    active_users: int,
    *,
    keep_histogram: bool,
) -> TimeBucket:
    """Summarise one time bucket from its histogram."""
    requests = histogram.get_total_count()
    summary = LatencySummary.of(histogram, with_mean=False)
    return TimeBucket(
        start_seconds=round(start_seconds, 3),
        requests=requests,
        errors=errors,
        throughput_rps=round(requests / bucket_seconds, 3),
        p50_ms=summary.p50_ms,
        p95_ms=summary.p95_ms,
        max_ms=summary.max_ms,
        active_users=active_users,
        histogram=encode_histogram(histogram) if keep_histogram and requests else None,
    )


def merge_request_stats(
    name: str, parts: Iterable[RequestStats], measured_seconds: float
) -> RequestStats:
    """Merge statistics of the same request name exactly, by adding their histograms."""
    histogram = new_histogram()
    count = 0
    errors: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for part in parts:
        histogram.add(decode_histogram(part.histogram))
        count += part.count
        errors.update(part.errors)
        statuses.update(part.status_codes)
    return RequestStats(
        name=name,
        count=count,
        errors=dict(sorted(errors.items())),
        status_codes=dict(sorted(statuses.items())),
        throughput_rps=round(count / measured_seconds, 3) if measured_seconds > 0 else 0.0,
        latency=LatencySummary.of(histogram),
        histogram=encode_histogram(histogram),
    )


def merge_series(series: Iterable[Sequence[TimeBucket]], bucket_seconds: float) -> list[TimeBucket]:
    """Merge time series of the same bucket width bucket by bucket (exact when histograms kept)."""
    by_start: dict[float, list[TimeBucket]] = {}
    for one in series:
        for bucket in one:
            by_start.setdefault(bucket.start_seconds, []).append(bucket)
    merged = []
    for start in sorted(by_start):
        parts = by_start[start]
        histogram = new_histogram()
        exact = True
        for part in parts:
            if part.histogram is not None:
                histogram.add(decode_histogram(part.histogram))
            elif part.requests:
                exact = False
        bucket = bucket_of(
            start,
            bucket_seconds,
            histogram,
            sum(p.errors for p in parts),
            sum(p.active_users for p in parts),
            keep_histogram=exact,
        )
        if not exact:
            # Without every part's histogram the percentiles cannot be merged; the slowest
            # part's figures are an upper bound, and the counts stay exact.
            requests = sum(p.requests for p in parts)
            bucket = bucket.model_copy(
                update={
                    "requests": requests,
                    "throughput_rps": round(requests / bucket_seconds, 3),
                    "p50_ms": max((p.p50_ms for p in parts if p.p50_ms is not None), default=None),
                    "p95_ms": max((p.p95_ms for p in parts if p.p95_ms is not None), default=None),
                    "max_ms": max((p.max_ms for p in parts if p.max_ms is not None), default=None),
                }
            )
        merged.append(bucket)
    return merged


def merge_results(results: Sequence[LoadResult]) -> LoadResult:
    """Merge results of shards that ran the same scenario at the same time, exactly.

    Histograms are added, so merged percentiles equal those of one histogram that saw every
    request; counts, errors and users are summed; the measured time is the longest shard's, so
    the merged throughput is the total count over the time the shards ran together.

    Args:
        results: One or more results with the same scenario, model and bucket width.
    """
    if not results:
        raise ValueError("merge_results needs at least one result, got none")
    first = results[0]
    for other in results[1:]:
        if (other.scenario, other.model, other.bucket_seconds) != (
            first.scenario,
            first.model,
            first.bucket_seconds,
        ):
            raise ValueError(
                "cannot merge results of different runs: "
                f"{(first.scenario, first.model.value, first.bucket_seconds)} vs "
                f"{(other.scenario, other.model.value, other.bucket_seconds)}; merge only shards "
                "of one run"
            )
    measured = max(r.measured_seconds for r in results)
    names = sorted({name for r in results for name in r.requests})
    return LoadResult(
        scenario=first.scenario,
        model=first.model,
        users=sum(r.users for r in results),
        started_at=min(r.started_at for r in results),
        finished_at=max(r.finished_at for r in results),
        measured_seconds=measured,
        stop_reason=first.stop_reason,
        overall=merge_request_stats(OVERALL, (r.overall for r in results), measured),
        requests={
            name: merge_request_stats(
                name, (r.requests[name] for r in results if name in r.requests), measured
            )
            for name in names
        },
        cancelled=sum(r.cancelled for r in results),
        late_sends=sum(r.late_sends for r in results),
        dropped_sends=sum(r.dropped_sends for r in results),
        bucket_seconds=first.bucket_seconds,
        series=merge_series((r.series for r in results), first.bucket_seconds),
        step_series={
            name: merge_series((r.step_series.get(name, []) for r in results), first.bucket_seconds)
            for name in sorted({name for r in results for name in r.step_series})
        },
        shards=sum(r.shards for r in results),
    )
