"""Criteria judge measurements; a run cannot pass on what it never measured."""

from __future__ import annotations

from vigil.config import CriterionConfig
from vigil.criteria import CriterionStatus, Verdict, judge_all, verdict
from vigil.results import Measurement, Severity

RATE = CriterionConfig(suite="integration", measure="pass_rate", operator=">", threshold=0.95)
ROWS = CriterionConfig(
    suite="data", measure="learning_rows", operator=">=", threshold=1000, unit="rows"
)


def test_passing_measurement_passes() -> None:
    [outcome] = judge_all(
        {"rate": RATE},
        [("integration", Measurement(name="pass_rate", value=1.0))],
        {"integration": "passed"},
    )
    assert outcome.status is CriterionStatus.PASSED
    assert outcome.measured == 1.0
    assert "meets > 0.95" in outcome.message


def test_boundary_is_strict_for_strict_operators() -> None:
    [outcome] = judge_all(
        {"rate": RATE}, [("integration", Measurement(name="pass_rate", value=0.95))], {}
    )
    assert outcome.status is CriterionStatus.FAILED
    assert "misses" in outcome.message


def test_measurement_of_another_suite_does_not_count() -> None:
    [outcome] = judge_all(
        {"rate": RATE}, [("workflow", Measurement(name="pass_rate", value=1.0))], {}
    )
    assert outcome.status is CriterionStatus.NOT_EVALUATED
    assert "suite 'integration' did not run" in outcome.message


def test_suite_that_ran_without_measuring_is_named() -> None:
    [outcome] = judge_all({"rows": ROWS}, [], {"data": "error"})
    assert outcome.status is CriterionStatus.NOT_EVALUATED
    assert "ended error without measuring 'learning_rows'" in outcome.message


def test_verdict_is_incomplete_when_a_criterion_was_not_measured() -> None:
    outcomes = judge_all(
        {"rate": RATE, "rows": ROWS},
        [("integration", Measurement(name="pass_rate", value=1.0))],
        {"integration": "passed"},
    )
    assert verdict(outcomes) is Verdict.INCOMPLETE


def test_failed_beats_incomplete_and_error_beats_all() -> None:
    outcomes = judge_all(
        {"rate": RATE, "rows": ROWS},
        [("integration", Measurement(name="pass_rate", value=0.5))],
        {},
    )
    assert verdict(outcomes) is Verdict.FAILED
    assert verdict(outcomes, errored=True) is Verdict.ERROR


def test_all_measured_and_met_passes() -> None:
    outcomes = judge_all(
        {"rate": RATE, "rows": ROWS},
        [
            ("integration", Measurement(name="pass_rate", value=0.99)),
            ("data", Measurement(name="learning_rows", value=6000)),
        ],
        {},
    )
    assert verdict(outcomes) is Verdict.PASSED


def test_warn_criteria_never_decide() -> None:
    warn = ROWS.model_copy(update={"severity": Severity.WARN})
    outcomes = judge_all(
        {"rate": RATE, "p95": warn}, [("integration", Measurement(name="pass_rate", value=1.0))], {}
    )
    assert outcomes[1].status is CriterionStatus.NOT_EVALUATED
    assert verdict(outcomes) is Verdict.PASSED


def test_no_criteria_at_all_is_incomplete() -> None:
    assert verdict([]) is Verdict.INCOMPLETE


def test_disabled_criteria_are_not_judged() -> None:
    off = RATE.model_copy(update={"enabled": False})
    assert judge_all({"rate": off}, [], {}) == []
