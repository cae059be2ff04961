"""A cycle's summary from its load result and probes: MTTR, availability outside the fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil.load import LatencySummary, LoadResult, RequestStats, StopReason
from vigil.load.config import LoadModel
from vigil.load.statistics import encode_histogram, new_histogram, record_latency
from vigil.observe.probes import ProbeKind, ProbeSample
from vigil.soak.cycle import pattern_request, summarise_cycle

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _load_result() -> LoadResult:
    histogram = new_histogram()
    for latency_ms in (10, 20, 30, 40, 1000):
        record_latency(histogram, latency_ms * 1000)
    stats = RequestStats(
        name="overall",
        count=5,
        errors={"timeout": 1},
        throughput_rps=0.5,
        latency=LatencySummary.of(histogram),
        histogram=encode_histogram(histogram),
    )
    return LoadResult(
        scenario="predict_feedback",
        model=LoadModel.CLOSED,
        users=1,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=10),
        measured_seconds=10,
        stop_reason=StopReason.DURATION,
        overall=stats,
        requests={"predict": stats},
        bucket_seconds=1.0,
    )


def _probes(bad_from: float, bad_to: float, end: float = 10.0) -> list[ProbeSample]:
    samples = []
    moment = 0.0
    while moment < end:
        samples.append(
            ProbeSample(
                sent_at=T0 + timedelta(seconds=moment),
                kind=ProbeKind.HEALTH,
                ok=not (bad_from <= moment < bad_to),
            )
        )
        moment += 0.5
    return samples


def test_mttr_runs_from_injection_to_the_settled_recovery_and_the_fault_is_excluded():
    injected = T0 + timedelta(seconds=2)
    recovered = T0 + timedelta(seconds=5)
    samples = _probes(2.0, 5.0)
    summary = summarise_cycle(T0, _load_result(), samples, injected, recovered, None, True, T0)
    assert summary.mttr_s == pytest.approx(3.0)
    # The six failed probes (and the first good one, at 5 s) fell inside the fault window,
    # which availability leaves out.
    assert summary.probes == len(samples) - 7 and summary.probes_good == summary.probes
    assert summary.requests == 5 and summary.errors == 1
    assert summary.p50_s == pytest.approx(0.03, rel=0.01)
    assert summary.p99_s == pytest.approx(1.0, rel=0.01)
    assert summary.per_second["probe_ok"][2] == (T0.timestamp() + 2, 0.0)


def test_failures_outside_a_fault_count_against_availability():
    samples = _probes(7.0, 8.0)
    summary = summarise_cycle(T0, _load_result(), samples, None, None, None, None, T0)
    assert summary.mttr_s is None and summary.fault_kind is None
    assert summary.probes == 20 and summary.probes_good == 18


def test_the_pattern_series_has_its_spike_where_the_check_looks():
    body = pattern_request(3)
    values = body["series"]["soak_latency"]
    assert values.index(max(values)) == 180 and len(values) == 240
