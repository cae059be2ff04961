"""Typed results that steps return and the store persists.

A step never raises to report that the target misbehaved: it returns a
:class:`CheckResult` whose ``status`` says what was measured. Reporters only
format these models; they never compute anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    """Return the current wall-clock time in UTC (timezone-aware)."""
    return datetime.now(UTC)


class Status(StrEnum):
    """Outcome of a check or a suite."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    """The check could not be carried out (infrastructure, not the target's quality)."""
    NOT_APPLICABLE = "not_applicable"
    """The target lacks the capability the check needs; never counts as passed."""


class Severity(StrEnum):
    """How much a failed check matters to a suite's status."""

    WARN = "warn"
    ERROR = "error"


class CheckResult(BaseModel):
    """The outcome of one check within a suite."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Predicate-style name, e.g. `evaluation_count_matches_feedback`.")
    status: Status
    severity: Severity = Severity.ERROR
    message: str = Field(default="", description="One human sentence on what was seen.")
    measured: dict[str, float] = Field(
        default_factory=dict, description="Numbers the check observed, by name."
    )
    started_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime = Field(default_factory=utc_now)

    @property
    def counts_as_failure(self) -> bool:
        """Whether this check should make its suite fail."""
        return self.status in (Status.FAILED, Status.ERROR) and self.severity is Severity.ERROR


class Measurement(BaseModel):
    """A number a suite measured, which success criteria may judge."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]+$", description="e.g. `pass_rate`, `p95_latency_s`.")
    value: float
    unit: str = ""
    context: dict[str, float | str] = Field(
        default_factory=dict, description="Conditions of the measurement (users, duration, ...)."
    )


class SuiteResult(BaseModel):
    """All checks of one suite run, with the suite's derived status."""

    suite: str
    checks: list[CheckResult] = Field(default_factory=list)
    measurements: list[Measurement] = Field(default_factory=list)
    started_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime = Field(default_factory=utc_now)

    @property
    def status(self) -> Status:
        """Failed if any error-severity check failed; not applicable if nothing applied."""
        if not self.checks:
            return Status.NOT_APPLICABLE
        if any(c.status is Status.ERROR and c.severity is Severity.ERROR for c in self.checks):
            return Status.ERROR
        if any(c.counts_as_failure for c in self.checks):
            return Status.FAILED
        if all(c.status is Status.NOT_APPLICABLE for c in self.checks):
            return Status.NOT_APPLICABLE
        return Status.PASSED

    @property
    def pass_rate(self) -> float | None:
        """Share of applicable checks that passed, or None when none applied."""
        applicable = [c for c in self.checks if c.status is not Status.NOT_APPLICABLE]
        if not applicable:
            return None
        return sum(c.status is Status.PASSED for c in applicable) / len(applicable)
