"""Bad data parameters are rejected with a message that names the value and the fix."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from vigil.synth.config import (
    DataConfig,
    DriftPointConfig,
    LearningStreamConfig,
    MetricsHistoryConfig,
    ScenarioConfig,
)


def _message(model: type, **values) -> str:
    with pytest.raises(ValidationError) as caught:
        model(**values)
    return str(caught.value)


def test_defaults_are_valid_and_complete() -> None:
    config = DataConfig()
    assert config.metrics.days == 90
    assert config.metrics.resolution_seconds == 60
    assert config.learning.days == 30
    kinds = {scenario.kind for scenario in config.metrics.resolved_scenarios()}
    assert kinds == {
        "deploy",
        "config_change",
        "traffic_surge",
        "gradual_degradation",
        "spike",
        "intermittent",
        "level_shift",
        "bad_deploy",
    }
    assert DataConfig.model_validate(config.model_dump(mode="json")) == config


@pytest.mark.parametrize("days", [-5, 0])
def test_non_positive_days_are_rejected(days: int) -> None:
    message = _message(MetricsHistoryConfig, days=days)
    assert f"days must be a positive number of days, got {days}" in message
    message = _message(LearningStreamConfig, days=days)
    assert f"got {days}" in message and "30 for the learning stream" in message


def test_one_day_history_cannot_show_daily_seasonality() -> None:
    assert "days=1 is too short" in _message(MetricsHistoryConfig, days=1)


def test_resolution_coarser_than_the_daily_cycle_is_rejected() -> None:
    message = _message(MetricsHistoryConfig, resolution_seconds=7200)
    assert "resolution_seconds=7200 is coarser than the daily cycle" in message
    assert "at most 3600" in message


def test_resolution_must_divide_a_day() -> None:
    assert "resolution_seconds=7 does not divide a day" in _message(
        MetricsHistoryConfig, resolution_seconds=7
    )
    assert "resolution_seconds must be positive, got -60" in _message(
        MetricsHistoryConfig, resolution_seconds=-60
    )


def test_scenario_outside_the_span_is_rejected() -> None:
    message = _message(
        MetricsHistoryConfig,
        days=30,
        scenarios=[
            {"kind": "spike", "metric": "error_rate", "start_day": 29.9, "duration_hours": 6}
        ],
    )
    assert (
        "scenarios[0] (spike on error_rate, days 29.9-30.15) ends after the 30-day history"
        in message
    )


def test_holiday_outside_the_span_is_rejected() -> None:
    message = _message(MetricsHistoryConfig, days=30, holidays=[31])
    assert "holiday day 31 lies outside the 30-day history; use a day from 0 to 29" in message


def test_overlapping_scenarios_on_one_metric_are_rejected() -> None:
    message = _message(
        MetricsHistoryConfig,
        holidays=[],
        scenarios=[
            {
                "kind": "level_shift",
                "metric": "request_rate",
                "start_day": 10,
                "duration_hours": 48,
            },
            {"kind": "spike", "metric": "request_rate", "start_day": 11, "duration_hours": 1},
        ],
    )
    assert "scenarios[0] (level_shift on request_rate, days 10-12)" in message
    assert "scenarios[1] (spike on request_rate, days 11-11.0417)" in message
    assert "overlap on request_rate" in message and "move or shorten one of them" in message


def test_overlap_through_consequences_is_rejected() -> None:
    # A bad deploy hurts latency_p95_ms, so a spike there at the same time contradicts it.
    message = _message(
        MetricsHistoryConfig,
        holidays=[],
        scenarios=[
            {"kind": "bad_deploy", "start_day": 20, "duration_hours": 4},
            {"kind": "spike", "metric": "latency_p95_ms", "start_day": 20.05, "duration_hours": 1},
        ],
    )
    assert "overlap on latency_p95_ms" in message


def test_a_scenario_overlapping_a_holiday_is_rejected() -> None:
    message = _message(
        MetricsHistoryConfig,
        holidays=[12],
        scenarios=[{"kind": "traffic_surge", "start_day": 12.5, "duration_hours": 2}],
    )
    assert "holiday on day 12" in message and "overlap on" in message


def test_same_metric_at_different_times_is_fine() -> None:
    config = MetricsHistoryConfig(
        holidays=[],
        scenarios=[
            {"kind": "spike", "metric": "request_rate", "start_day": 10, "duration_hours": 1},
            {
                "kind": "spike",
                "metric": "request_rate",
                "start_day": 10 + 1 / 24,
                "duration_hours": 1,
            },
        ],
    )
    assert len(config.resolved_scenarios()) == 2


def test_scenario_shorter_than_a_sample_is_rejected() -> None:
    message = _message(
        MetricsHistoryConfig,
        resolution_seconds=3600,
        scenarios=[
            {"kind": "spike", "metric": "error_rate", "start_day": 3, "duration_hours": 0.25}
        ],
    )
    assert "lasts 0.25 h, shorter than one sample (3600 s)" in message


def test_scenario_metric_must_match_its_kind() -> None:
    assert "a spike scenario at day 3 needs `metric`" in _message(
        ScenarioConfig, kind="spike", start_day=3, duration_hours=1
    )
    assert "remove metric='cpu_utilization'" in _message(
        ScenarioConfig, kind="bad_deploy", metric="cpu_utilization", start_day=3, duration_hours=1
    )
    assert "needs a positive magnitude, got -0.5" in _message(
        ScenarioConfig,
        kind="spike",
        metric="error_rate",
        start_day=3,
        duration_hours=1,
        magnitude=-0.5,
    )


def test_unknown_metric_and_extra_keys_are_rejected() -> None:
    assert "request_rat" in _message(
        ScenarioConfig, kind="spike", metric="request_rat", start_day=3, duration_hours=1
    )
    assert "Extra inputs are not permitted" in _message(MetricsHistoryConfig, dayz=3)


def test_naive_start_is_rejected() -> None:
    message = _message(MetricsHistoryConfig, start=datetime(2026, 1, 5))
    assert "start=2026-01-05T00:00:00 has no timezone" in message
    assert "2026-01-05T00:00:00+00:00" in message


def test_too_many_samples_are_rejected() -> None:
    message = _message(MetricsHistoryConfig, days=366, resolution_seconds=1)
    assert "31,622,400 samples" in message and "coarser resolution" in message


def test_drift_width_must_match_its_kind() -> None:
    assert "a sudden drift at day 5 has width_days=2" in _message(
        DriftPointConfig, day=5, kind="sudden", width_days=2
    )
    assert "a gradual drift at day 5 needs width_days > 0" in _message(
        DriftPointConfig, day=5, kind="gradual"
    )


def test_drifts_must_lie_inside_the_stream_and_apart() -> None:
    message = _message(
        LearningStreamConfig, days=30, drifts=[{"day": 29.5, "kind": "gradual", "width_days": 2}]
    )
    assert "drifts[0] (day 29.5, width 2) does not lie inside the 30-day stream" in message
    message = _message(
        LearningStreamConfig,
        drifts=[
            {"day": 10, "kind": "gradual", "width_days": 4},
            {"day": 11, "kind": "sudden"},
        ],
    )
    assert "drifts[1] (day 11) starts before drifts[0] has finished" in message


def test_concepts_must_fit_the_drifts_and_the_generator() -> None:
    assert "concepts=[0, 2] has 2 entries but 2 drifts need 3" in _message(
        LearningStreamConfig, concepts=[0, 2]
    )
    assert "concepts[1]=7 is not a sea concept; use 0 to 3" in _message(
        LearningStreamConfig, generator="sea", concepts=[0, 7, 1]
    )
    assert "concepts[0] and concepts[1] are both 2" in _message(
        LearningStreamConfig, concepts=[2, 2, 4]
    )
