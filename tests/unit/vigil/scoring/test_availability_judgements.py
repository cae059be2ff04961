"""Availability, first failure and recovery instant on hand-made probe streams."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil.observe.probes import ProbeKind, ProbeSample
from vigil.scoring.availability import availability, first_failure, recovered_at

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def stream(pattern: str, step_s: float = 0.1) -> list[ProbeSample]:
    """One probe per character: '+' good, '-' failed."""
    return [
        ProbeSample(sent_at=T0 + timedelta(seconds=i * step_s), kind=ProbeKind.HEALTH, ok=c == "+")
        for i, c in enumerate(pattern)
    ]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_availability_counts_good_probes_outside_excluded_windows() -> None:
    samples = stream("++++--++++")
    assert availability(samples).share == 0.8
    excluded = availability(samples, [(at(0.4), at(0.5))])
    assert (excluded.probes, excluded.good, excluded.excluded, excluded.share) == (8, 8, 2, 1.0)
    assert availability([]).share is None


def test_first_failure_after_an_instant() -> None:
    samples = stream("+-++--++")
    assert first_failure(samples, at(0.0)) == at(0.1)
    assert first_failure(samples, at(0.2)) == at(0.4)
    assert first_failure(stream("++++"), at(0.0)) is None


def test_recovery_needs_a_good_run_held_for_the_settle_time() -> None:
    #          0    5    10   15
    samples = stream("--+--+++++++")
    # A lone good probe at 0.2 s is not a recovery; the run from 0.5 s holds 0.3 s by 0.8 s.
    assert recovered_at(samples, at(0.0), settle_s=0.3) == at(0.5)
    # A run that the stream ends before it has held long enough does not count.
    assert recovered_at(samples, at(0.0), settle_s=1.0) is None
    assert recovered_at(stream("++++"), at(0.0), settle_s=0.2) == at(0.0)
