"""PatternRequest rejects every malformed request with a message naming the problem."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from reference.patterns import PatternRequest


def _message(body: dict[str, Any]) -> str:
    """The validation message for an invalid body (fails if the body is accepted)."""
    with pytest.raises(ValidationError) as caught:
        PatternRequest.model_validate(body)
    return str(caught.value)


def _timestamps(count: int) -> list[str]:
    return [f"2026-01-01T00:{minute:02d}:00Z" for minute in range(count)]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_value_is_rejected_naming_series_and_index(bad: float) -> None:
    message = _message({"timestamps": _timestamps(3), "series": {"cpu": [1.0, 2.0, bad]}})
    assert "series 'cpu' has a non-finite value" in message
    assert "at index 2" in message
    assert "send only finite numbers" in message


def test_value_beyond_1e18_is_rejected_with_a_unit_hint() -> None:
    message = _message({"timestamps": _timestamps(2), "series": {"bytes": [1.0, 5e18]}})
    assert "series 'bytes' has 5e+18 at index 1, beyond +/-1e18" in message
    assert "larger unit" in message


def test_series_shorter_than_timestamps_is_rejected_with_both_lengths() -> None:
    message = _message(
        {"timestamps": _timestamps(4), "series": {"a": [1, 2, 3, 4], "b": [1, 2, 3]}}
    )
    assert "series 'b' has 3 values but 'timestamps' has 4" in message


def test_unequal_series_with_start_and_step_are_rejected() -> None:
    message = _message(
        {"start": "2026-01-01T00:00:00Z", "step_seconds": 60, "series": {"a": [1, 2], "b": [1]}}
    )
    assert "series 'b' has 1 values but series 'a' has 2" in message


def test_both_time_axes_at_once_are_rejected() -> None:
    message = _message(
        {
            "timestamps": _timestamps(2),
            "start": "2026-01-01T00:00:00Z",
            "step_seconds": 60,
            "series": {"a": [1, 2]},
        }
    )
    assert "either 'timestamps' or 'start' with 'step_seconds', not both" in message


def test_missing_time_axis_is_rejected() -> None:
    assert "no time axis" in _message({"series": {"a": [1, 2]}})


def test_start_without_step_is_rejected_naming_the_missing_field() -> None:
    message = _message({"start": "2026-01-01T00:00:00Z", "series": {"a": [1, 2]}})
    assert "'step_seconds' is missing" in message


def test_unreadable_iso_timestamp_is_rejected_with_its_index_and_an_example() -> None:
    message = _message(
        {"timestamps": ["2026-01-01T00:00:00Z", "yesterday"], "series": {"a": [1, 2]}}
    )
    assert "timestamps[1] = 'yesterday' is not an ISO 8601 date-time" in message
    assert "2026-01-31T14:00:00Z" in message


def test_epoch_milliseconds_are_rejected_as_not_seconds() -> None:
    message = _message(
        {"timestamps": [1_767_225_600_000, 1_767_225_660_000], "series": {"a": [1, 2]}}
    )
    assert "timestamps[0] = 1767225600000 is not epoch seconds between 1970 and 2200" in message
    assert "not milliseconds" in message


def test_mixed_timestamp_forms_are_rejected() -> None:
    message = _message(
        {"timestamps": ["2026-01-01T00:00:00Z", 1_767_225_660], "series": {"a": [1, 2]}}
    )
    assert "mix ISO 8601 strings and epoch numbers" in message


def test_boolean_timestamp_is_rejected() -> None:
    message = _message({"timestamps": [True, 1_767_225_660], "series": {"a": [1, 2]}})
    assert "timestamps.0" in message
    assert "Input should be a valid string" in message


def test_more_than_32_series_are_rejected() -> None:
    series = {f"m{i}": [1.0, 2.0] for i in range(33)}
    message = _message({"timestamps": _timestamps(2), "series": series})
    assert "at most 32 items" in message


def test_no_series_is_rejected() -> None:
    assert "at least 1 item" in _message({"timestamps": _timestamps(1), "series": {}})


def test_unknown_field_is_rejected() -> None:
    message = _message({"timestamps": _timestamps(1), "series": {"a": [1]}, "window": 5})
    assert "window" in message
    assert "Extra inputs are not permitted" in message


def test_unknown_sensitivity_is_rejected_listing_the_choices() -> None:
    message = _message({"timestamps": _timestamps(1), "series": {"a": [1]}, "sensitivity": "max"})
    assert "'low', 'medium' or 'high'" in message


def test_zero_step_is_rejected() -> None:
    message = _message({"start": "2026-01-01T00:00:00Z", "step_seconds": 0, "series": {"a": [1]}})
    assert "step_seconds" in message
    assert "greater than or equal to 1" in message


def test_start_before_1970_is_rejected() -> None:
    message = _message({"start": "1969-12-31T00:00:00Z", "step_seconds": 60, "series": {"a": [1]}})
    assert "is outside 1970..2200" in message


def test_valid_forms_are_accepted_and_agree() -> None:
    iso = PatternRequest.model_validate(
        {"timestamps": ["2026-01-01T00:00:00Z", "2026-01-01T00:01:00"], "series": {"a": [1, 2]}}
    )
    epoch = PatternRequest.model_validate(
        {"timestamps": [1_767_225_600, 1_767_225_660.0], "series": {"a": [1, 2]}}
    )
    spaced = PatternRequest.model_validate(
        {"start": "2026-01-01T00:00:00", "step_seconds": 60, "series": {"a": [1, 2]}}
    )
    assert iso.timestamps_ns().tolist() == epoch.timestamps_ns().tolist()
    assert epoch.timestamps_ns().tolist() == spaced.timestamps_ns().tolist()
    assert iso.sensitivity == "medium"


def test_more_values_than_the_body_limit_carries_are_refused() -> None:
    body = {
        "start": "2026-01-01T00:00:00Z",
        "step_seconds": 60,
        "series": {f"m{i}": [1.0] * 200_000 for i in range(8)},
    }
    with pytest.raises(ValidationError) as caught:
        PatternRequest.model_validate(body)
    assert "1,600,000 values in all, more than 1,500,000" in str(caught.value)
