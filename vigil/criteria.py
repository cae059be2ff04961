"""Success criteria: measurements judged against configured thresholds.

Pure functions only. A criterion whose measurement was never taken is *not
evaluated*, and a run with an error-severity criterion not evaluated cannot
pass: its verdict is *incomplete*.
"""

from __future__ import annotations

import operator as op
from collections.abc import Iterable, Mapping
from enum import StrEnum

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field

from vigil.config import CriterionConfig, Operator
from vigil.results import Measurement, Severity, Status
from vigil.tables import VigilTable

_COMPARE = {">": op.gt, ">=": op.ge, "<": op.lt, "<=": op.le, "==": op.eq}


class CriterionStatus(StrEnum):
    """Outcome of one criterion."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_EVALUATED = "not_evaluated"


class Verdict(StrEnum):
    """Outcome of a whole run."""

    PASSED = "passed"
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    ERROR = "error"


EXIT_CODES = {Verdict.PASSED: 0, Verdict.FAILED: 1, Verdict.INCOMPLETE: 1, Verdict.ERROR: 3}
"""Exit code of `vigil validate` for each verdict (2 is reserved for invalid usage)."""


class CriterionOutcome(VigilTable):
    """One criterion as judged for a run.

    Its fields are declared here once: the store's ``CriterionRecord`` is this model
    as a table, and the report carries it as it is.
    """

    name: str = Field(max_length=128)
    description: str = Field(default="", sa_type=sa.Text)
    suite: str = Field(max_length=64)
    measure: str = Field(max_length=128)
    operator: Operator = Field(sa_type=sa.String(4))
    threshold: float
    unit: str = Field(default="", max_length=32)
    severity: Severity = Field(default=Severity.ERROR, sa_type=sa.String(8))
    status: CriterionStatus = Field(sa_type=sa.String(16))
    measured: float | None = None
    message: str = Field(default="", sa_type=sa.Text)


def judge(
    name: str,
    criterion: CriterionConfig,
    measurements: Mapping[tuple[str, str], Measurement],
    suites_run: Mapping[str, Status],
) -> CriterionOutcome:
    """Judge one criterion against the run's measurements.

    Args:
        name: The criterion's name.
        criterion: Its configuration.
        measurements: The run's measurements by (suite, measure name).
        suites_run: Status of every suite that ran, by suite name.
    """
    fields = criterion.model_dump(exclude={"enabled"})
    found = measurements.get((criterion.suite, criterion.measure))
    if found is None:
        if criterion.suite not in suites_run:
            why = f"suite {criterion.suite!r} did not run in this run"
        else:
            why = (
                f"suite {criterion.suite!r} ended {suites_run[criterion.suite]} without "
                f"measuring {criterion.measure!r}"
            )
        return CriterionOutcome(
            name=name,
            status=CriterionStatus.NOT_EVALUATED,
            message=f"not measured: {why}",
            **fields,
        )
    holds = _COMPARE[criterion.operator](found.value, criterion.threshold)
    unit = f" {criterion.unit}" if criterion.unit else ""
    relation = "meets" if holds else "misses"
    return CriterionOutcome(
        name=name,
        status=CriterionStatus.PASSED if holds else CriterionStatus.FAILED,
        measured=found.value,
        message=(
            f"{criterion.measure} = {found.value:.6g}{unit} {relation} "
            f"{criterion.operator} {criterion.threshold:g}{unit}"
        ),
        **fields,
    )


def judge_all(
    criteria: Mapping[str, CriterionConfig],
    measurements: Iterable[tuple[str, Measurement]],
    suites_run: Mapping[str, Status],
) -> list[CriterionOutcome]:
    """Judge every enabled criterion; `measurements` pairs each with its suite's name."""
    by_key = {(suite, m.name): m for suite, m in measurements}
    return [
        judge(name, criterion, by_key, suites_run)
        for name, criterion in criteria.items()
        if criterion.enabled
    ]


def verdict(outcomes: Iterable[CriterionOutcome], *, errored: bool = False) -> Verdict:
    """The run's verdict: error beats failed, failed beats incomplete, else passed.

    Warn-severity criteria are reported but never decide the verdict.
    """
    if errored:
        return Verdict.ERROR
    deciding = [o for o in outcomes if o.severity is Severity.ERROR]
    if any(o.status is CriterionStatus.FAILED for o in deciding):
        return Verdict.FAILED
    if not deciding or any(o.status is CriterionStatus.NOT_EVALUATED for o in deciding):
        return Verdict.INCOMPLETE
    return Verdict.PASSED


class Judgement(BaseModel):
    """A run's verdict and the outcomes it was decided from."""

    verdict: Verdict
    outcomes: list[CriterionOutcome]


def verdict_message(
    decided: Verdict, outcomes: Iterable[CriterionOutcome], error: str | None = None
) -> str:
    """One line for a flow state or a log: the verdict and every deciding criterion not passed."""
    if decided is Verdict.ERROR:
        return f"verdict error: {error or 'an infrastructure error stopped the run'}"
    missed = [
        f"{o.name} {o.status} ({o.message})"
        for o in outcomes
        if o.severity is Severity.ERROR and o.status is not CriterionStatus.PASSED
    ]
    if decided is Verdict.PASSED:
        return "verdict passed: every criterion passed"
    if not missed:
        return f"verdict {decided}: no criterion decided the run"
    return f"verdict {decided}: " + "; ".join(missed)
