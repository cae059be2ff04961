"""Unit tests of the load statistics: exact histogram merges and result arithmetic."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.load.config import LoadModel
from vigil.load.statistics import (
    HIGHEST_US,
    OVERALL,
    ErrorKind,
    LatencySummary,
    LoadResult,
    RequestRecorder,
    StopReason,
    bucket_of,
    decode_histogram,
    encode_histogram,
    merge_request_stats,
    merge_results,
    new_histogram,
    record_latency,
)

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9, 100.0)


def _result(
    recorders: dict[str, RequestRecorder],
    overall: RequestRecorder,
    measured: float,
    *,
    scenario: str = "s",
    users: int = 10,
    series_values: list[list[float]] | None = None,
) -> LoadResult:
    series = []
    for index, values in enumerate(series_values or []):
        histogram = new_histogram()
        for v in values:
            record_latency(histogram, v)
        series.append(bucket_of(index * 1.0, 1.0, histogram, 1, users, keep_histogram=True))
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return LoadResult(
        scenario=scenario,
        model=LoadModel.CLOSED,
        users=users,
        started_at=when,
        finished_at=when,
        measured_seconds=measured,
        stop_reason=StopReason.DURATION,
        overall=overall.stats(measured),
        requests={name: rec.stats(measured) for name, rec in recorders.items()},
        bucket_seconds=1.0,
        series=series,
    )


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.integers(min_value=1, max_value=HIGHEST_US), min_size=1, max_size=400),
    shards=st.integers(min_value=1, max_value=5),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_merged_histogram_percentiles_equal_a_single_histogram(
    values: list[int], shards: int, seed: int
) -> None:
    rng = random.Random(seed)
    whole = new_histogram()
    parts = [RequestRecorder("x") for _ in range(shards)]
    for value in values:
        record_latency(whole, value)
        parts[rng.randrange(shards)].record(value, 200, None)

    merged = decode_histogram(
        merge_request_stats("x", (p.stats(1.0) for p in parts), 1.0).histogram
    )

    assert merged.get_total_count() == whole.get_total_count() == len(values)
    for percentile in PERCENTILES:
        assert merged.get_value_at_percentile(percentile) == whole.get_value_at_percentile(
            percentile
        )
    assert merged.get_max_value() == whole.get_max_value()
    assert merged.get_min_value() == whole.get_min_value()


def test_merge_results_sums_counts_errors_and_keeps_exact_percentiles() -> None:
    rng = random.Random(7)
    shards = []
    single = {"a": new_histogram(), OVERALL: new_histogram()}
    for measured in (10.0, 12.0):
        recorders = {"a": RequestRecorder("a"), "b": RequestRecorder("b")}
        overall = RequestRecorder(OVERALL)
        for _ in range(500):
            latency = rng.expovariate(1 / 20_000)
            error = ErrorKind.TIMEOUT if latency > 60_000 else None
            status = None if error else 200
            recorders["a"].record(latency, status, error)
            overall.record(latency, status, error)
            record_latency(single["a"], latency)
            record_latency(single[OVERALL], latency)
        recorders["b"].record(5_000, 503, ErrorKind.STATUS_5XX)
        overall.record(5_000, 503, ErrorKind.STATUS_5XX)
        record_latency(single[OVERALL], 5_000)
        shards.append(_result(recorders, overall, measured, series_values=[[1000, 2000], [3000]]))

    merged = merge_results(shards)

    assert merged.shards == 2
    assert merged.users == 20
    assert merged.overall.count == 1002
    assert merged.requests["b"].errors == {"status_5xx": 2}
    assert merged.requests["b"].status_codes == {"503": 2}
    timeouts = sum(s.requests["a"].errors.get("timeout", 0) for s in shards)
    assert merged.requests["a"].errors.get("timeout", 0) == timeouts
    assert merged.overall.error_count == timeouts + 2
    assert merged.measured_seconds == 12.0
    assert merged.overall.throughput_rps == pytest.approx(1002 / 12.0, abs=1e-3)
    assert merged.overall.latency == LatencySummary.of(single[OVERALL])
    assert merged.requests["a"].latency == LatencySummary.of(single["a"])
    assert [b.requests for b in merged.series] == [4, 2]
    assert [b.active_users for b in merged.series] == [20, 20]
    assert (
        merged.series[0].p95_ms
        == LatencySummary.of(decode_histogram(merged.series[0].histogram or "")).p95_ms
    )


def test_merge_results_rejects_results_of_different_scenarios() -> None:
    one = _result({}, RequestRecorder(OVERALL), 1.0, scenario="one")
    two = _result({}, RequestRecorder(OVERALL), 1.0, scenario="two")
    with pytest.raises(ValueError, match="cannot merge results of different runs"):
        merge_results([one, two])
    with pytest.raises(ValueError, match="at least one result"):
        merge_results([])


def test_error_rate_and_throughput_follow_the_counts() -> None:
    recorder = RequestRecorder("r")
    for i in range(8):
        recorder.record(1000 * (i + 1), 200, None)
    recorder.record(100, None, ErrorKind.CONNECTION)
    recorder.record(9000, 500, ErrorKind.STATUS_5XX)
    stats = recorder.stats(measured_seconds=4.0)
    assert stats.count == 10
    assert stats.error_count == 2
    assert stats.error_rate == pytest.approx(0.2)
    assert stats.throughput_rps == pytest.approx(2.5)
    assert stats.status_codes == {"200": 8, "500": 1}
    assert stats.latency.max_ms == pytest.approx(9.0, rel=1e-3)
    assert stats.latency.min_ms == pytest.approx(0.1, rel=1e-2)
    assert RequestRecorder("empty").stats(0.0).error_rate == 0.0
    assert RequestRecorder("empty").stats(0.0).latency == LatencySummary()


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (101, "status_1xx"),
        (200, "status_2xx"),
        (302, "status_3xx"),
        (404, "status_4xx"),
        (503, "status_5xx"),
    ],
)
def test_unexpected_statuses_are_classified_by_class(status: int, kind: str) -> None:
    assert ErrorKind.for_status(status).value == kind


def test_latencies_outside_the_range_are_clamped() -> None:
    histogram = new_histogram()
    record_latency(histogram, 0.2)
    record_latency(histogram, 10 * HIGHEST_US)
    assert histogram.get_min_value() == 1
    assert histogram.values_are_equivalent(histogram.get_max_value(), HIGHEST_US)


def test_histograms_round_trip_through_their_encoding() -> None:
    histogram = new_histogram()
    for v in (12, 1_500, 250_000, 3_000_000):
        record_latency(histogram, v)
    again = decode_histogram(encode_histogram(histogram))
    assert again.get_total_count() == 4
    assert again.get_value_at_percentile(75) == histogram.get_value_at_percentile(75)
    assert decode_histogram("").get_total_count() == 0


def test_decoding_garbage_names_the_bad_text() -> None:
    with pytest.raises(ValueError, match="not an encoded HDR histogram: 'nonsense"):
        decode_histogram("nonsense-histogram")


def test_bucket_throughput_uses_the_covered_width() -> None:
    histogram = new_histogram()
    for v in (1000, 2000, 3000, 4000):
        record_latency(histogram, v)
    bucket = bucket_of(5.0, 0.5, histogram, 1, 3, keep_histogram=False)
    assert bucket.requests == 4
    assert bucket.throughput_rps == pytest.approx(8.0)
    assert bucket.histogram is None
    assert bucket.p50_ms == pytest.approx(2.0, rel=1e-3)


def test_a_result_survives_a_json_round_trip_with_its_histograms() -> None:
    recorder = RequestRecorder("a")
    overall = RequestRecorder(OVERALL)
    for value in (1_000, 2_500, 40_000, 1_200_000):
        recorder.record(value, 200, None)
        overall.record(value, 200, None)
    result = _result({"a": recorder}, overall, 2.0, series_values=[[1_000, 2_500], [40_000]])

    again = LoadResult.model_validate_json(result.model_dump_json())

    assert again == result
    assert merge_results([again]).overall.latency == result.overall.latency
