"""The report of a run, assembled from the store and nothing else."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from vigil.criteria import CriterionOutcome, Verdict
from vigil.results import SuiteResult
from vigil.store import RunStatus, Store

REPORT_SCHEMA_VERSION = 1


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
    suites: dict[str, SuiteResult] = Field(default_factory=dict)
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
        suites={suite.suite: suite for suite in store.suites(run.id)},
        incidents=[
            IncidentEntry.model_validate(i, from_attributes=True) for i in store.incidents(run.id)
        ],
        config=run.config,
    )
