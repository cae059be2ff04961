"""Trend judgements on hand-made series: a slope that reaches its bound fails with the time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vigil.results import Status
from vigil.soak.trends import fit_trend, judge_trend

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_a_steady_leak_is_projected_to_its_bound():
    times = [0.0, 1.0, 2.0, 3.0, 4.0]
    rss = [500.0, 600.0, 700.0, 800.0, 900.0]  # 100 MB/h, bound 2000 MB at 15 h
    trend = fit_trend(times, rss, bound=2000.0, end_h=72.0)
    assert trend.slope_per_h == pytest.approx(100.0)
    assert trend.crossing_h == pytest.approx(15.0)
    assert trend.crosses_before_end
    check = judge_trend("memory_trend_within_bound", "target RSS", "MB", trend, START, min_points=3)
    assert check.status is Status.FAILED
    assert "would reach its bound of 2000 MB 15 h into the soak" in check.message
    assert "2026-12-01 23:00:00Z" in check.message
    assert check.measured["projected_crossing_h"] == pytest.approx(15.0)


def test_a_leak_that_stays_below_the_bound_until_the_end_passes():
    trend = fit_trend([0.0, 1.0, 2.0, 3.0], [500.0, 510.0, 520.0, 530.0], 2000.0, end_h=72.0)
    assert trend.crossing_h == pytest.approx(150.0)
    check = judge_trend("memory_trend_within_bound", "target RSS", "MB", trend, START, min_points=3)
    assert check.status is Status.PASSED, check.message


def test_noise_around_a_flat_level_never_fails():
    values = [0.100, 0.130, 0.095, 0.128, 0.101, 0.125, 0.099, 0.131]
    trend = fit_trend([float(i) for i in range(8)], values, bound=0.14, end_h=1000.0)
    assert not trend.significant
    check = judge_trend(
        "latency_trend_within_bound", "p95 latency", "s", trend, START, min_points=3
    )
    assert check.status is Status.PASSED, check.message


def test_a_level_already_at_the_bound_fails_even_without_a_trend():
    trend = fit_trend([0.0], [2.5], bound=2.0, end_h=1.0)
    check = judge_trend(
        "latency_trend_within_bound", "p95 latency", "s", trend, START, min_points=3
    )
    assert check.status is Status.FAILED
    assert "at or above its bound of 2 s" in check.message


def test_too_few_cycles_judge_the_level_only():
    trend = fit_trend([0.0, 1.0], [100.0, 1000.0], bound=2000.0, end_h=72.0)
    check = judge_trend("memory_trend_within_bound", "target RSS", "MB", trend, START, min_points=3)
    assert check.status is Status.PASSED
    assert "fewer than the 3 a trend needs" in check.message


def test_nothing_measured_is_an_error_not_a_pass():
    trend = fit_trend([], [], bound=1.0, end_h=1.0)
    check = judge_trend(
        "latency_trend_within_bound", "p95 latency", "s", trend, START, min_points=3
    )
    assert check.status is Status.ERROR
    assert "no p95 latency was measured" in check.message


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="2 instants but 1 values"):
        fit_trend([0.0, 1.0], [1.0], 1.0, 1.0)
