"""The tiered series: fine recent points, coarser old ones, a hard cap, an exact round trip."""

from __future__ import annotations

import math

import pytest

from vigil.soak.series import DEFAULT_TIERS, SoakSeries, Tier, TieredSeries, soak_tiers


def test_recent_points_stay_per_second():
    series = TieredSeries()
    for second in range(120):
        series.add(float(second), float(second))
    points = list(series.points())
    assert len(points) == 120
    assert all(p.width == 1.0 and p.count == 1 for p in points)


def test_points_older_than_an_hour_fold_into_minutes_keeping_their_summary():
    series = TieredSeries()
    for second in range(2 * 3600):
        series.add(float(second), 1.0 if second < 60 else 3.0)
    points = list(series.points())
    minutes = [p for p in points if p.width == 60.0]
    seconds = [p for p in points if p.width == 1.0]
    assert len(seconds) <= 3601
    assert minutes[0].start == 0.0 and minutes[0].count == 60 and minutes[0].mean == 1.0
    assert minutes[1].mean == 3.0 and minutes[1].low == 3.0 and minutes[1].high == 3.0
    # Nothing is lost by folding: every value is still counted once.
    assert sum(p.count for p in points) == 2 * 3600
    assert sum(p.total for p in points) == 60 * 1.0 + (2 * 3600 - 60) * 3.0


def test_three_days_at_one_value_per_second_stay_within_the_cap():
    series = TieredSeries(max_coarse_points=50)
    for second in range(0, 72 * 3600, 2):  # every other second keeps the test fast
        series.add(float(second), math.sin(second))
    assert len(series) <= series.max_points
    widths = {p.width for p in series.points()}
    assert widths == {1.0, 60.0, 3600.0}
    hours = [p for p in series.points() if p.width == 3600.0]
    assert len(hours) == 72 - 24 - 1 or len(hours) == 72 - 24  # the day boundary's partial hour
    assert series.dropped == 0


def test_the_cap_drops_the_oldest_coarse_points_and_counts_them():
    series = TieredSeries((Tier(1.0, 10.0), Tier(10.0, math.inf)), max_coarse_points=3)
    for second in range(100):
        series.add(float(second), 1.0)
    coarse = [p for p in series.points() if p.width == 10.0]
    assert len(coarse) == 3
    assert series.dropped > 0
    assert coarse[0].start > 0


def test_snapshot_round_trip_is_exact():
    series = TieredSeries((Tier(1.0, 5.0), Tier(5.0, math.inf)), max_coarse_points=4)
    for second in range(40):
        series.add(second + 0.5, float(second % 7))
    again = TieredSeries.from_dict(series.to_dict())
    assert [p.as_list() for p in again.points()] == [p.as_list() for p in series.points()]
    assert again.dropped == series.dropped


def test_bad_tiers_and_values_are_rejected_with_the_reason():
    with pytest.raises(ValueError, match="whole multiples"):
        TieredSeries((Tier(1.0, 10.0), Tier(1.5, math.inf)))
    with pytest.raises(ValueError, match="span_s >= resolution_s"):
        Tier(10.0, 5.0)
    with pytest.raises(ValueError, match="finite"):
        TieredSeries().add(0.0, float("nan"))
    assert DEFAULT_TIERS[0].resolution_s == 1.0


def test_soak_series_extends_and_restores():
    soak = SoakSeries()
    soak.extend({"probe_ok": [(10.0, 1.0), (11.0, 0.5)], "unknown": [(1.0, 1.0)]})
    restored = SoakSeries(soak.snapshot())
    points = list(restored.series["probe_ok"].points())
    assert [(p.start, p.mean) for p in points] == [(10.0, 1.0), (11.0, 0.5)]


def test_a_shorter_fine_span_folds_seconds_into_minutes_sooner_and_survives_a_restore():
    soak = SoakSeries(tiers=soak_tiers(120.0))
    soak.extend({"probe_ok": [(float(t), 1.0) for t in range(600)]})
    series = soak.series["probe_ok"]
    seconds = [p for p in series.points() if p.width == 1.0]
    minutes = [p for p in series.points() if p.width == 60.0]
    assert len(seconds) <= 121 and seconds[-1].start == 599.0
    assert sum(p.count for p in minutes) + len(seconds) == 600, "no value is lost"
    assert series.max_points == 121 + 1441 + 2000
    # A resumed soak keeps the tiers its series were made with, whatever it is given now.
    restored = SoakSeries(soak.snapshot(), tiers=soak_tiers(3600.0))
    assert restored.series["probe_ok"].tiers == soak_tiers(120.0)


def test_the_series_memory_is_allocated_when_it_is_made_not_as_points_arrive():
    import tracemalloc

    import vigil.soak.series as module

    series = TieredSeries()
    for second in range(10):
        series.add(float(second), 1.0)
    # Only what the series' own code keeps counts: other threads of the test process (and
    # the loop's own floats) allocate meanwhile.
    own_code = [tracemalloc.Filter(True, module.__file__)]
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces(own_code)
        for second in range(10, 3 * 3600):  # fills the hour of seconds, folds into minutes
            series.add(float(second), float(second % 3))
        after = tracemalloc.take_snapshot().filter_traces(own_code)
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert len(series) > 3600
    assert grown < 4096, f"adding 10,790 values kept {grown} bytes"
