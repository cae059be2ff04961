"""Unit tests of how a stress-ramp step is judged against its SLO."""

from __future__ import annotations

from datetime import UTC, datetime

from vigil.load.config import LatencySloConfig, LoadModel
from vigil.load.saturation import judge_step
from vigil.load.statistics import OVERALL, ErrorKind, LoadResult, RequestRecorder, StopReason


def _result(latencies_us: list[float], failures: int = 0) -> LoadResult:
    overall = RequestRecorder(OVERALL)
    for latency in latencies_us:
        overall.record(latency, 200, None)
    for _ in range(failures):
        overall.record(1_000, 500, ErrorKind.STATUS_5XX)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return LoadResult(
        scenario="s",
        model=LoadModel.CLOSED,
        users=1,
        started_at=when,
        finished_at=when,
        measured_seconds=1.0,
        stop_reason=StopReason.DURATION,
        overall=overall.stats(1.0),
        requests={},
        bucket_seconds=1.0,
    )


def test_a_step_within_both_limits_holds_the_slo() -> None:
    held, reason = judge_step(_result([100_000] * 100), LatencySloConfig(p95_ms=200))
    assert held
    assert reason.startswith("within the SLO: p95 100.") and "(limit 200)" in reason


def test_a_slow_p95_breaks_the_slo() -> None:
    held, reason = judge_step(_result([100_000] * 90 + [3_000_000] * 10), LatencySloConfig())
    assert not held
    assert reason.startswith("p95 over the limit: p95 300")


def test_too_many_errors_break_the_slo() -> None:
    held, reason = judge_step(_result([1_000] * 95, failures=5), LatencySloConfig())
    assert not held
    assert "error rate over the limit" in reason and "error rate 0.0500 (limit 0.01)" in reason


def test_a_step_without_answers_does_not_hold_the_slo() -> None:
    held, reason = judge_step(_result([]), LatencySloConfig())
    assert not held
    assert reason == "no request completed during the measured window"
