"""The report of a run, assembled from the store and nothing else."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from vigil.criteria import CriterionOutcome, Verdict
from vigil.results import Status, SuiteResult
from vigil.store import RunStatus, Store

REPORT_SCHEMA_VERSION = 1
"""Bumped when report.json changes shape; ``report.schema.json`` describes the current one."""


class SuiteReport(SuiteResult):
    """A suite as the report carries it: its results plus the status and pass rate they give."""

    @computed_field(description="Derived from the checks: failed, error, passed or not applicable.")
    @property
    def status(self) -> Status:
        return SuiteResult.status.fget(self)

    @computed_field(description="Share of applicable checks that passed; null when none applied.")
    @property
    def pass_rate(self) -> float | None:
        return SuiteResult.pass_rate.fget(self)


class IncidentEntry(BaseModel):
    """An injected fault and what the target made of it."""

    suite: str
    fault: str
    expected_kind: str
    reported_kind: str | None
    action: str | None
    injected_at: datetime
    detected_at: datetime | None
    recovered_at: datetime | None


class RunReport(BaseModel):
    """Everything a run recorded: the content of ``report.json``."""

    model_config = ConfigDict(title="vigil run report")

    schema_version: int = REPORT_SCHEMA_VERSION
    run_id: str
    profile: str
    seed: int
    target: str
    status: RunStatus
    verdict: Verdict | None
    error: str | None = None
    started_at: datetime
    finished_at: datetime | None
    criteria: list[CriterionOutcome] = Field(default_factory=list)
    suites: dict[str, SuiteReport] = Field(default_factory=dict)
    incidents: list[IncidentEntry] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)


def build_run_report(store: Store, run_id: str) -> RunReport:
    """Assemble the report of `run_id` from what the store holds."""
    run = store.get_run(run_id)
    return RunReport(
        run_id=run.id,
        profile=run.profile,
        seed=run.seed,
        target=run.target_name,
        status=run.status,
        verdict=run.verdict,
        error=run.error,
        started_at=run.started_at,
        finished_at=run.finished_at,
        criteria=store.criteria(run.id),
        suites={
            suite.suite: SuiteReport.model_validate(suite.model_dump())
            for suite in store.suites(run.id)
        },
        incidents=[
            IncidentEntry.model_validate(i, from_attributes=True) for i in store.incidents(run.id)
        ],
        config=run.config,
    )
