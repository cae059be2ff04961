"""Unit tests of the open model's arrival schedule (constant and ramping rates)."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from vigil.load import ArrivalSchedule, LoadProfileConfig
from vigil.load.shards import shard_profile


def _due_times(schedule: ArrivalSchedule) -> list[float]:
    times = []
    for arrival in itertools.count():
        due = schedule.due_seconds(arrival)
        if due is None:
            return times
        times.append(due)


def test_a_constant_rate_spaces_arrivals_evenly_from_the_start() -> None:
    schedule = ArrivalSchedule.of(LoadProfileConfig(users=1, arrival_rate=50, duration_seconds=1))

    times = _due_times(schedule)

    assert schedule.total_arrivals == len(times) == 50
    assert times[0] == 0.0
    assert times[1] == pytest.approx(0.02)
    assert times[-1] == pytest.approx(0.98)


def test_a_ramp_sends_the_integral_of_its_rate_spaced_as_the_rate_says() -> None:
    profile = LoadProfileConfig(
        users=1,
        arrival_rate=10,
        arrival_stages=[{"target_rate": 100, "duration_seconds": 60}],
        duration_seconds=60,
    )
    schedule = ArrivalSchedule.of(profile)

    times = _due_times(schedule)

    assert len(times) == 3300  # (10 + 100) / 2 * 60
    assert all(a < b for a, b in itertools.pairwise(times))
    first_second = sum(1 for t in times if t < 1)
    last_second = sum(1 for t in times if t >= 59)
    assert first_second in (10, 11)  # the rate starts at 10/s
    assert last_second in (99, 100)  # and ends at 100/s
    assert schedule.rate_at(30) == pytest.approx(55)


def test_stages_start_from_zero_and_the_last_rate_holds_to_the_end() -> None:
    profile = LoadProfileConfig(
        users=1,
        arrival_stages=[
            {"target_rate": 100, "duration_seconds": 2},
            {"target_rate": 0, "duration_seconds": 1},
            {"target_rate": 20, "duration_seconds": 1},
        ],
        duration_seconds=6,
    )
    schedule = ArrivalSchedule.of(profile)

    times = _due_times(schedule)

    # 100 ramping up, 50 ramping down, 10 ramping up again, then 20/s held for 2 s.
    assert len(times) == 100 + 50 + 10 + 40
    assert sum(1 for t in times if 4 <= t < 6) == 40
    assert schedule.rate_at(5) == 20
    assert schedule.rate_at(6.5) == 0


def test_stages_longer_than_the_run_are_rejected() -> None:
    with pytest.raises(ValidationError, match="the arrival stages take 12 s but duration_seconds"):
        LoadProfileConfig(
            users=1,
            arrival_stages=[{"target_rate": 5, "duration_seconds": 12}],
            duration_seconds=10,
        )


def test_stages_that_never_send_are_rejected() -> None:
    with pytest.raises(ValidationError, match="every arrival stage has target_rate 0"):
        LoadProfileConfig(
            users=1, arrival_stages=[{"target_rate": 0, "duration_seconds": 1}], duration_seconds=1
        )


def test_stages_select_the_open_model_and_exclude_a_user_ramp() -> None:
    staged = LoadProfileConfig(
        users=3, arrival_stages=[{"target_rate": 5, "duration_seconds": 1}], duration_seconds=1
    )
    assert staged.model.value == "open"
    with pytest.raises(ValidationError, match="arrival_stages selects the open model"):
        LoadProfileConfig(
            users=3,
            arrival_stages=[{"target_rate": 5, "duration_seconds": 1}],
            duration_seconds=1,
            ramp_seconds=1,
        )


def test_shards_divide_the_stage_rates_and_the_backlog() -> None:
    profile = LoadProfileConfig(
        users=10,
        arrival_stages=[{"target_rate": 90, "duration_seconds": 3}],
        max_backlog=7,
        duration_seconds=3,
    )

    parts = [shard_profile(profile, 3, i) for i in range(3)]

    assert {p.arrival_stages[0].target_rate for p in parts if p.arrival_stages} == {30}
    assert sum(p.max_backlog for p in parts) == 7
    assert sum(ArrivalSchedule.of(p).total_arrivals for p in parts) == 135
