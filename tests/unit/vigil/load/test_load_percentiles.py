"""The fast recording, percentiles and mean agree exactly with hdrh's own (slow) code."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.load.statistics import (
    HIGHEST_US,
    decode_histogram,
    encode_histogram,
    mean_value,
    new_histogram,
    percentile_values,
    record_us,
)

PERCENTILES = [0.0, 1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(min_value=1, max_value=HIGHEST_US), min_size=1, max_size=300),
    round_trip=st.booleans(),
)
def test_percentiles_and_mean_equal_hdrh(values: list[int], round_trip: bool) -> None:
    histogram = new_histogram()
    for value in values:
        histogram.record_value(value)
    if round_trip:
        histogram = decode_histogram(encode_histogram(histogram))

    assert percentile_values(histogram, PERCENTILES) == [
        histogram.get_value_at_percentile(p) for p in PERCENTILES
    ]
    expected_mean = histogram.get_mean_value()
    assert abs(mean_value(histogram) - expected_mean) <= 1e-9 * expected_mean


def test_an_empty_histogram_reads_zero() -> None:
    assert percentile_values(new_histogram(), [50.0, 99.0]) == [0, 0]
    assert mean_value(new_histogram()) == 0.0


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(min_value=1, max_value=HIGHEST_US), min_size=1, max_size=300))
def test_fast_recording_fills_the_same_counts_as_hdrh(values: list[int]) -> None:
    theirs, ours = new_histogram(), new_histogram()
    for value in values:
        theirs.record_value(value)
        record_us(ours, value)

    assert list(ours.counts) == list(theirs.counts)
    assert (ours.total_count, ours.min_value, ours.max_value) == (
        theirs.total_count,
        theirs.min_value,
        theirs.max_value,
    )
    assert encode_histogram(ours) == encode_histogram(theirs)
