"""Property: any valid request gets a valid response, never an exception."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reference.patterns import PatternRequest, PatternResponse, analyze

EPOCH_2026 = 1_767_225_600

values = st.one_of(
    st.floats(min_value=-1e18, max_value=1e18, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 0.01, 1.0, 1e9, -5.0]),
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """Valid request bodies: short or long, regular or not, odd values, both time forms."""
    shape = draw(st.sampled_from(["random", "constant", "steps", "repeating", "noisy_cycle"]))
    longest = 300 if shape == "random" else 3000
    length = draw(st.integers(min_value=1, max_value=longest))
    names = draw(
        st.lists(
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=20),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    series: dict[str, list[float]] = {}
    for name in names:
        if shape == "random":
            series[name] = draw(st.lists(values, min_size=length, max_size=length))
        elif shape == "constant":
            series[name] = [draw(values)] * length
        elif shape == "steps":
            low, high = draw(values), draw(values)
            cut = draw(st.integers(min_value=0, max_value=length))
            series[name] = [low] * cut + [high] * (length - cut)
        elif shape == "repeating":
            pattern = draw(st.lists(values, min_size=1, max_size=5))
            series[name] = [pattern[i % len(pattern)] for i in range(length)]
        else:
            seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
            period = draw(st.sampled_from([24, 288, 7 * 24]))
            level, amplitude = draw(values), abs(draw(values))
            rng = np.random.default_rng(seed)
            cycle = np.sin(2 * np.pi * np.arange(length) / period)
            noisy = level + amplitude * (cycle + 0.1 * rng.standard_normal(length))
            series[name] = np.clip(noisy, -1e18, 1e18).tolist()
    body: dict[str, Any] = {
        "series": series,
        "sensitivity": draw(st.sampled_from(["low", "medium", "high"])),
    }
    if draw(st.booleans()):
        body["start"] = "2026-01-01T00:00:00Z"
        body["step_seconds"] = draw(st.sampled_from([1, 60, 300, 3600, 86_400]))
    else:
        step = draw(st.sampled_from([1, 60, 300, 3600]))
        offsets = draw(
            st.lists(
                st.integers(min_value=0, max_value=length * 3),
                min_size=length,
                max_size=length,
            )
        )
        body["timestamps"] = [EPOCH_2026 + offset * step for offset in offsets]
    return body


@example(  # found by this test: coarse steps longer than a day (daily points < 1)
    {
        "series": {"0": [-600.0] + [0.0] * 2999},
        "sensitivity": "low",
        "start": "2026-01-01T00:00:00Z",
        "step_seconds": 86_400,
    }
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_any_valid_request_gets_a_valid_response(body: dict[str, Any]) -> None:
    request = PatternRequest.model_validate(body)
    response = analyze(request)
    # The response must survive its own JSON round trip (what the HTTP layer sends).
    again = PatternResponse.model_validate_json(response.model_dump_json())
    assert again == response
    summary = response.summary
    assert summary.points == sum(len(v) for v in body["series"].values())
    assert summary.metrics == list(body["series"])
    for anomaly in response.anomalies:
        assert anomaly.metric in body["series"]
        assert summary.start <= anomaly.start <= anomaly.end <= summary.end
    for pattern in response.patterns:
        assert pattern.metric in body["series"]
