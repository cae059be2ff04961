"""The analyzer finds what was planted in series with a known truth, and nothing in flat ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from reference.patterns import PatternRequest, PatternResponse, analyze
from reference.patterns.models import (
    Anomaly,
    ChangePointPattern,
    DailySeasonalityPattern,
    TrendPattern,
    WeeklySeasonalityPattern,
)

START = datetime(2026, 1, 5, tzinfo=UTC)
"""A Monday, midnight UTC."""
FIVE_MINUTES = 300


def _at(index: int, step: int = FIVE_MINUTES) -> datetime:
    return START + timedelta(seconds=int(index) * step)


def _spaced(
    series: dict[str, np.ndarray], step: int = FIVE_MINUTES, **extra: object
) -> PatternResponse:
    request = PatternRequest(
        start=START,
        step_seconds=step,
        series={name: values.tolist() for name, values in series.items()},
        **extra,  # type: ignore[arg-type]
    )
    return analyze(request)


def _noise(days: float, seed: int, level: float = 100.0, sigma: float = 1.0) -> np.ndarray:
    points = int(days * 86_400 / FIVE_MINUTES)
    return level + np.random.default_rng(seed).normal(0.0, sigma, points)


def _covers(anomaly: Anomaly, first: datetime, last: datetime) -> bool:
    return anomaly.start <= last and first <= anomaly.end


def test_spike_is_reported_in_its_window_and_nowhere_else() -> None:
    values = _noise(10, seed=1)
    values[1500:1503] += 25.0
    response = _spaced({"cpu_utilization": values})
    assert [a.kind for a in response.anomalies] == ["spike"]
    assert _covers(response.anomalies[0], _at(1500), _at(1502))
    assert response.anomalies[0].score > 10


def test_dip_is_reported_as_a_dip() -> None:
    values = _noise(10, seed=2)
    values[2000] -= 30.0
    response = _spaced({"request_rate": values})
    assert [a.kind for a in response.anomalies] == ["dip"]
    assert response.anomalies[0].start == _at(2000)


def test_level_shift_in_error_rate_is_found_at_its_step_with_a_rollback() -> None:
    rng = np.random.default_rng(3)
    values = 0.01 + rng.normal(0, 0.001, 3000)
    values[1700:] += 0.01
    response = _spaced({"error_rate": values})
    shifts = [a for a in response.anomalies if a.kind == "level_shift"]
    assert len(shifts) == 1
    assert abs((shifts[0].start - _at(1700)).total_seconds()) <= 2 * FIVE_MINUTES
    points = [p for p in response.patterns if isinstance(p, ChangePointPattern)]
    assert len(points) == 1
    assert points[0].level_before == pytest.approx(0.01, abs=0.001)
    assert points[0].level_after == pytest.approx(0.02, abs=0.001)
    rollbacks = [r for r in response.recommendations if r.action == "rollback_deploy"]
    assert len(rollbacks) == 1
    assert rollbacks[0].target == "error_rate"
    assert rollbacks[0].window.kind == "interval"
    assert rollbacks[0].window.start == points[0].at


def test_daily_cycle_is_reported_with_its_peak_hour_and_a_scale_up_ahead_of_it() -> None:
    points = 14 * 288
    hours = np.arange(points) * FIVE_MINUTES / 3600 % 24
    values = 200 + 80 * np.cos(2 * np.pi * (hours - 15) / 24)
    values += np.random.default_rng(4).normal(0, 5, points)
    response = _spaced({"request_rate": values})
    daily = [p for p in response.patterns if isinstance(p, DailySeasonalityPattern)]
    assert len(daily) == 1
    assert daily[0].peak_hour == 15
    assert 15 in daily[0].peak_hours
    assert daily[0].trough_hour == 3
    assert daily[0].strength > 0.8
    assert not [p for p in response.patterns if isinstance(p, WeeklySeasonalityPattern)]
    scale_up = [r for r in response.recommendations if r.action == "scale_up"]
    assert len(scale_up) == 1
    assert scale_up[0].window.kind == "recurring"
    assert min(scale_up[0].window.hours) < 15 <= max(scale_up[0].window.hours)
    assert response.anomalies == []


def test_weekday_peak_is_reported_as_weekly_seasonality() -> None:
    points = 28 * 288
    index = np.arange(points)
    hours = index * FIVE_MINUTES / 3600 % 24
    weekday = (index * FIVE_MINUTES // 86_400) % 7  # START is a Monday
    values = 100 + 30 * np.cos(2 * np.pi * (hours - 13) / 24) + np.where(weekday < 5, 40.0, 0.0)
    values += np.random.default_rng(5).normal(0, 4, points)
    response = _spaced({"active_users_moderate": values})
    weekly = [p for p in response.patterns if isinstance(p, WeeklySeasonalityPattern)]
    assert len(weekly) == 1
    assert weekly[0].peak_days == ["monday", "tuesday", "wednesday", "thursday", "friday"]
    assert weekly[0].trough_days == ["saturday", "sunday"]
    scale_up = [r for r in response.recommendations if r.action == "scale_up"]
    assert scale_up and scale_up[0].window.days == weekly[0].peak_days
    # The midnight steps between weekdays and weekends must not look like anomalies.
    assert response.anomalies == []


def test_linear_degradation_is_reported_since_roughly_its_start() -> None:
    days, onset_day = 20, 12
    values = _noise(days, seed=6, level=50.0, sigma=2.0)
    onset = onset_day * 288
    values[onset:] += np.linspace(0.0, 40.0, len(values) - onset)
    response = _spaced({"latency_p95_ms": values})
    gradual = [a for a in response.anomalies if a.kind == "gradual_degradation"]
    assert len(gradual) == 1
    assert abs((gradual[0].start - _at(onset)).total_seconds()) <= 12 * 3600
    assert gradual[0].end >= _at(len(values) - 1) - timedelta(hours=12)
    assert not [a for a in response.anomalies if a.kind == "level_shift"]
    investigate = [r for r in response.recommendations if r.action == "investigate"]
    assert any(
        r.window.kind == "interval" and r.window.start == gradual[0].start for r in investigate
    )


def test_rising_request_rate_is_a_trend_not_a_degradation() -> None:
    values = _noise(20, seed=7)
    values += np.linspace(0.0, 30.0, len(values))
    response = _spaced({"request_rate": values})
    trends = [p for p in response.patterns if isinstance(p, TrendPattern)]
    assert len(trends) == 1
    assert trends[0].direction == "increasing"
    assert trends[0].slope_per_day == pytest.approx(1.5, rel=0.1)
    assert not [a for a in response.anomalies if a.kind == "gradual_degradation"]
    assert [r.action for r in response.recommendations] == ["add_capacity_alerting"]


def test_repeated_short_bursts_are_one_intermittent_window() -> None:
    values = _noise(10, seed=8, level=0.02, sigma=0.002)
    bursts = [1440, 1449, 1461, 1470, 1482, 1490]
    for index in bursts:
        values[index] += 0.016
    response = _spaced({"error_rate": values})
    assert [a.kind for a in response.anomalies] == ["intermittent"]
    assert response.anomalies[0].start == _at(bursts[0])
    assert response.anomalies[0].end == _at(bursts[-1])


def test_constant_series_gives_nothing_and_says_why() -> None:
    response = _spaced({"queue_depth": np.full(2000, 7.0)})
    assert response.anomalies == []
    assert response.patterns == []
    assert response.recommendations == []
    assert response.summary.notes == ["queue_depth: constant at 7; nothing to detect"]


def test_tiny_request_gives_a_valid_empty_answer_with_a_note() -> None:
    request = PatternRequest(timestamps=[0, 60, 120], series={"a": [1.0, 5.0, 2.0]})
    response = analyze(request)
    assert response.anomalies == []
    assert "only 3 observed points" in response.summary.notes[0]
    assert response.summary.points == 3
    assert response.summary.resolution_seconds == 60


def test_scale_does_not_change_what_is_found() -> None:
    base = _noise(10, seed=9, level=1.0, sigma=0.02)
    base[900:905] += 0.6
    base[2000:] += 0.3
    shape = [(a.kind, a.start, a.end) for a in _spaced({"m": base}).anomalies]
    tiny = [(a.kind, a.start, a.end) for a in _spaced({"m": base * 0.01}).anomalies]
    huge = [(a.kind, a.start, a.end) for a in _spaced({"m": base * 1e9}).anomalies]
    assert ("spike", _at(900), _at(904)) in shape
    assert any(kind == "level_shift" for kind, _, _ in shape)
    assert tiny == shape
    assert huge == shape


def test_gaps_are_counted_and_do_not_hide_a_spike() -> None:
    values = _noise(10, seed=10)
    values[1500:1503] += 25.0
    instants = np.arange(len(values)) * FIVE_MINUTES + int(START.timestamp())
    keep = np.ones(len(values), dtype=bool)
    keep[np.random.default_rng(11).choice(len(values), 200, replace=False)] = False
    keep[1500:1503] = True
    keep[0] = keep[-1] = True
    keep[2500:2560] = False  # a five-hour outage of the exporter
    request = PatternRequest(
        timestamps=instants[keep].tolist(), series={"cpu_utilization": values[keep].tolist()}
    )
    response = analyze(request)
    assert response.summary.missing_steps == int((~keep).sum())
    assert response.summary.aligned_points == len(values)
    assert response.summary.resolution_seconds == FIVE_MINUTES
    assert [a.kind for a in response.anomalies] == ["spike"]
    assert _covers(response.anomalies[0], _at(1500), _at(1502))


def test_unsorted_and_duplicated_timestamps_give_the_sorted_answer() -> None:
    values = _noise(8, seed=12)
    values[1000] += 30.0
    instants = (np.arange(len(values)) * FIVE_MINUTES + int(START.timestamp())).tolist()
    ordered = analyze(PatternRequest(timestamps=instants, series={"m": values.tolist()}))
    order = np.random.default_rng(13).permutation(len(values))
    repeats = order[:50]
    shuffled_instants = [instants[i] for i in order] + [instants[i] for i in repeats]
    shuffled_values = [values[i] for i in order] + [values[i] for i in repeats]
    shuffled = analyze(PatternRequest(timestamps=shuffled_instants, series={"m": shuffled_values}))
    assert shuffled.summary.duplicate_timestamps == 50
    assert shuffled.anomalies == ordered.anomalies
    assert shuffled.patterns == ordered.patterns


def test_duplicated_instants_are_averaged() -> None:
    instants = [0, 60, 60, 120, *range(180, 180 + 60 * 40, 60)]
    values = [1.0, 2.0, 4.0, 1.0, *([1.0] * 40)]
    response = analyze(PatternRequest(timestamps=instants, series={"m": values}))
    assert response.summary.duplicate_timestamps == 1
    assert response.summary.aligned_points == len(instants) - 1


def test_output_is_deterministic_and_uses_z_timestamps() -> None:
    values = _noise(6, seed=14)
    values[700] += 40.0
    first = _spaced({"cpu_utilization": values}).model_dump_json()
    second = _spaced({"cpu_utilization": values}).model_dump_json()
    assert first == second
    assert '"start":"2026-01-07T10:20:00Z"' in first
    assert "+00:00" not in first


def test_sensitivity_orders_how_much_is_reported() -> None:
    values = _noise(10, seed=15)
    for index, bump in [(500, 4.6), (1500, 6.0), (2500, 9.0)]:
        values[index] += bump
    counts = {
        level: len(_spaced({"cpu_utilization": values}, sensitivity=level).anomalies)
        for level in ("low", "medium", "high")
    }
    assert counts["low"] <= counts["medium"] <= counts["high"]
    assert counts["low"] < counts["high"]


def test_nightly_batch_spike_is_normal_but_an_outsized_spike_is_not() -> None:
    values = _noise(14, seed=16)
    nightly = np.arange(14) * 288 + 36  # 03:00 every day
    values[nightly] += 20.0
    values[9 * 288 + 168] += 60.0  # 14:00 on day 9
    response = _spaced({"cpu_utilization": values})
    assert [(a.kind, a.start) for a in response.anomalies] == [("spike", _at(9 * 288 + 168))]


def test_hourly_job_bursts_are_explained_by_the_hourly_cycle() -> None:
    values = _noise(7, seed=17, level=0.24, sigma=0.01)
    values[11::12] += 3.0  # the same five minutes of every hour
    values[1000] -= 0.2
    response = _spaced({"network_in": values})
    assert [(a.kind, a.start) for a in response.anomalies] == [("dip", _at(1000))]


def test_half_day_of_frequent_bursts_is_intermittent_not_a_level_shift() -> None:
    values = _noise(20, seed=18, level=0.002, sigma=0.0002)
    rng = np.random.default_rng(19)
    window = np.arange(10 * 288, 10 * 288 + 144)  # 12 hours from day 10
    bursts = window[rng.random(len(window)) < 0.3]
    values[bursts] *= 6.0
    response = _spaced({"error_rate": values})
    inside = [a for a in response.anomalies if _covers(a, _at(window[0]), _at(window[-1]))]
    assert [a.kind for a in inside] == ["intermittent"]
    assert not [a for a in response.anomalies if a.kind == "level_shift"]
