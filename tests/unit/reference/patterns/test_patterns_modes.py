"""The broken analyzer modes behind `--patterns-mode none|random`."""

from __future__ import annotations

from datetime import UTC, datetime

from reference.patterns import PatternRequest, PatternResponse, decoys


def request(length: int = 2000) -> PatternRequest:
    return PatternRequest(
        start=datetime(2026, 1, 5, tzinfo=UTC),
        step_seconds=60,
        series={"request_rate": [1.0 + i % 7 for i in range(length)], "error_rate": [0.1] * length},
    )


def test_none_finds_nothing_but_answers_in_shape() -> None:
    answer = decoys.nothing_found(request())
    assert (answer.anomalies, answer.patterns, answer.recommendations) == ([], [], [])
    assert answer.summary.points == 4000
    assert "patterns_mode=none" in answer.summary.notes[0]
    PatternResponse.model_validate(answer.model_dump(mode="json"))


def test_random_is_seeded_by_the_request_and_stays_inside_its_span() -> None:
    first, again = decoys.random_findings(request()), decoys.random_findings(request())
    assert first == again
    assert first.anomalies and first.recommendations
    assert decoys.random_findings(request(3000)) != first
    summary = first.summary
    assert all(summary.start <= a.start <= a.end <= summary.end for a in first.anomalies)
    PatternResponse.model_validate(first.model_dump(mode="json"))
