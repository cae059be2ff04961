"""Unit tests of the load profile, stress ramp and SLO models and their messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vigil.load.config import LatencySloConfig, LoadModel, LoadProfileConfig, StressRampConfig


def _error(**fields: object) -> str:
    with pytest.raises(ValidationError) as info:
        LoadProfileConfig.model_validate(fields)
    return str(info.value)


def test_named_profiles_are_expressible() -> None:
    light = LoadProfileConfig(
        users=10, duration_seconds=30, think_min_seconds=1, think_max_seconds=2
    )
    heavy = LoadProfileConfig(
        users=1000,
        ramp_seconds=20,
        duration_seconds=140,
        warmup_seconds=20,
        think_min_seconds=2,
        think_max_seconds=5,
        request_timeout_seconds=10,
    )
    open_model = LoadProfileConfig(users=500, arrival_rate=300, duration_seconds=60)
    assert light.model is LoadModel.CLOSED
    assert heavy.ramp_time_seconds == 20
    assert open_model.model is LoadModel.OPEN
    assert LoadProfileConfig(users=11, spawn_rate=5, duration_seconds=10).ramp_time_seconds == 2


def test_think_bounds_must_be_ordered() -> None:
    message = _error(users=1, duration_seconds=10, think_min_seconds=3, think_max_seconds=2)
    assert "think_min_seconds (3.0) is greater than think_max_seconds (2.0)" in message
    assert "set think_max_seconds to at least think_min_seconds" in message


def test_spawn_rate_and_ramp_seconds_are_exclusive() -> None:
    message = _error(users=10, duration_seconds=10, spawn_rate=2, ramp_seconds=3)
    assert "spawn_rate (2.0) and ramp_seconds (3.0) both set the ramp" in message


def test_open_model_has_no_ramp() -> None:
    message = _error(users=10, duration_seconds=10, arrival_rate=50, ramp_seconds=3)
    assert "arrival_rate (50.0) selects the open model" in message
    assert "remove spawn_rate/ramp_seconds" in message


def test_ramp_must_fit_in_the_duration() -> None:
    message = _error(users=101, duration_seconds=10, spawn_rate=5)
    assert "the ramp takes 20 s but duration_seconds is 10" in message


def test_warmup_must_leave_time_to_measure() -> None:
    message = _error(users=1, duration_seconds=10, warmup_seconds=10)
    assert "warmup_seconds (10) must be shorter than duration_seconds (10)" in message


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"users": 0, "duration_seconds": 1},
            "users\n  Input should be greater than or equal to 1",
        ),
        ({"users": 100_001, "duration_seconds": 1}, "less than or equal to 100000"),
        ({"users": 1, "duration_seconds": 0}, "duration_seconds\n  Input should be greater than 0"),
        ({"users": 1, "duration_seconds": 10 * 86_400}, "less than or equal to 604800"),
        ({"users": 1, "duration_seconds": 1, "max_requests": 0}, "max_requests"),
        ({"users": 1, "duration_seconds": 1, "request_timeout_seconds": 0}, "request_timeout"),
        ({"users": 1, "duration_seconds": 1, "user": 3}, "user\n  Extra inputs are not permitted"),
    ],
)
def test_bounds_and_unknown_keys_are_rejected_by_name(fields: dict, expected: str) -> None:
    assert expected in _error(**fields)


def test_every_profile_field_is_described() -> None:
    for name, field in LoadProfileConfig.model_fields.items():
        assert field.description, f"{name} has no description"


def test_stress_ramp_steps_and_their_profiles() -> None:
    base = LoadProfileConfig(
        users=1, duration_seconds=1, think_min_seconds=1, think_max_seconds=2, ramp_seconds=1
    )
    ramp = StressRampConfig(
        base=base,
        start_users=100,
        step_users=150,
        max_users=500,
        step_seconds=30,
        step_warmup_seconds=5,
    )
    assert ramp.user_steps() == [100, 250, 400]
    step = ramp.step_profile(250)
    assert (step.users, step.duration_seconds, step.warmup_seconds) == (250, 35, 5)
    assert (step.think_min_seconds, step.think_max_seconds, step.ramp_seconds) == (1, 2, 1)


def test_stress_ramp_rejects_an_inverted_range_and_the_open_model() -> None:
    base = LoadProfileConfig(users=1, duration_seconds=1)
    with pytest.raises(ValidationError, match=r"start_users \(600\) is above max_users \(500\)"):
        StressRampConfig(base=base, start_users=600, step_users=1, max_users=500, step_seconds=1)
    open_base = LoadProfileConfig(users=1, arrival_rate=5, duration_seconds=1)
    with pytest.raises(ValidationError, match=r"an open-model base .* ramps the arrival rate"):
        StressRampConfig(base=open_base, start_users=1, step_users=1, max_users=5, step_seconds=1)


def test_an_open_model_stress_ramp_steps_the_arrival_rate() -> None:
    base = LoadProfileConfig(users=200, arrival_rate=1, duration_seconds=1)
    ramp = StressRampConfig(base=base, start_rate=100, step_rate=150, max_rate=500, step_seconds=10)
    assert ramp.rate_steps() == [100, 250, 400]
    profiles = ramp.step_profiles()
    assert [p.arrival_rate for p in profiles] == [100, 250, 400]
    assert {(p.users, p.model) for p in profiles} == {(200, LoadModel.OPEN)}
    with pytest.raises(ValidationError, match=r"start_rate \(600\) is above max_rate \(500\)"):
        StressRampConfig(base=base, start_rate=600, step_rate=1, max_rate=500, step_seconds=1)


def test_stress_ramp_rejects_a_spawn_rate_too_slow_for_its_steps() -> None:
    base = LoadProfileConfig(users=1, duration_seconds=1, spawn_rate=1)
    with pytest.raises(ValidationError, match="the ramp takes 99 s but duration_seconds is 10"):
        StressRampConfig(base=base, start_users=10, step_users=10, max_users=100, step_seconds=10)


def test_slo_bounds() -> None:
    with pytest.raises(ValidationError, match="max_error_rate"):
        LatencySloConfig(max_error_rate=1.5)
    assert LatencySloConfig().p95_ms == 2000
