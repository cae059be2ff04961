"""Recommendations follow the metric's role: which way is bad, and what kind of metric it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from reference.patterns import PatternRequest, PatternResponse, analyze
from reference.patterns.metric_roles import is_degradation, metric_role

START = datetime(2026, 1, 5, tzinfo=UTC)


def _step(name: str, before: float, after: float, noise: float, seed: int) -> PatternResponse:
    values = before + np.random.default_rng(seed).normal(0, noise, 2000)
    values[1200:] += after - before
    request = PatternRequest(start=START, step_seconds=300, series={name: values.tolist()})
    return analyze(request)


def test_sudden_drop_in_model_accuracy_recommends_a_rollback() -> None:
    response = _step("model_accuracy", 0.92, 0.74, 0.005, seed=1)
    assert [r.action for r in response.recommendations] == ["rollback_deploy"]
    assert "model_accuracy stepped from 0.9" in response.recommendations[0].rationale
    assert "to 0.74" in response.recommendations[0].rationale
    assert response.recommendations[0].window.start == START + timedelta(minutes=5 * 1200)


def test_sudden_rise_in_model_accuracy_recommends_nothing() -> None:
    response = _step("model_accuracy", 0.80, 0.92, 0.005, seed=2)
    assert [a.kind for a in response.anomalies] == ["level_shift"]
    assert response.recommendations == []


def test_step_in_request_rate_is_investigated_not_rolled_back() -> None:
    response = _step("request_rate", 100.0, 60.0, 2.0, seed=3)
    assert [r.action for r in response.recommendations] == ["investigate"]
    assert response.recommendations[0].rationale.startswith("Demand in request_rate stepped")


@pytest.mark.parametrize(
    ("name", "change", "worse"),
    [
        ("latency_p95_ms", +1.0, True),
        ("latency_p95_ms", -1.0, False),
        ("error_rate", +1.0, True),
        ("model_accuracy", -1.0, True),
        ("model_accuracy", +1.0, False),
        ("request_rate", +1.0, False),
        ("request_rate", -1.0, False),
        ("value", -1.0, True),
    ],
)
def test_metric_names_set_the_bad_direction(name: str, change: float, worse: bool) -> None:
    assert is_degradation(metric_role(name), change) is worse
