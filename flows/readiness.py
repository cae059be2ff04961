"""The readiness suite: deploy, rollback, disaster recovery and security drills under probes."""

from __future__ import annotations

from prefect import flow

from tasks.bookkeeping import record_suite_result
from tasks.readiness import (
    drill_alerting,
    drill_model_deploy,
    drill_restore,
    drill_security,
    drill_version_deploys,
    judge_readiness,
    record_readiness_evidence,
    start_probes,
    stop_probes,
    train_model,
)
from vigil.observe.alerts import AlertDrillObservation
from vigil.readiness.config import ReadinessSuiteConfig
from vigil.readiness.evidence import DeployAttempt, RestoreObservation, SecurityObservation
from vigil.readiness.plan import DRILL_NEEDS, runnable, versions_runnable
from vigil.results import SuiteResult, utc_now
from vigil.run import SuiteRun


@flow(name="readiness")
def readiness(run: SuiteRun, settings: ReadinessSuiteConfig) -> SuiteResult:
    """Run the production drills while one probe stream measures what users would have seen.

    Model deploy behind a health gate, a broken deploy rolled back, the configured target
    versions deployed the same way, back up → destroy the data → restore → verify (and a
    truncated backup refused), an injected fault that must fire and resolve an alert,
    then the security drill. Availability counts every probe except those sent while the
    data was deliberately destroyed or errors were injected (judged by MTTR, not here).

    Args:
        run: The run and the started target's endpoint.
        settings: Which drills run and their bounds.
    """
    started = utc_now()
    capabilities = run.endpoint.capabilities
    deploys: list[DeployAttempt] = []
    restore: RestoreObservation | None = None
    secured: SecurityObservation | None = None
    alerted: AlertDrillObservation | None = None
    timeout_s = settings.request_timeout_s
    plan = {d: runnable(d, capabilities, settings) for d in DRILL_NEEDS}
    stream = start_probes(run.endpoint, settings.probes)
    try:
        if plan["deploy"] or plan["restore"]:
            train_model(run.endpoint, run.seed, settings.deploy.warmup_labels, timeout_s)
        if plan["deploy"]:
            for broken in (False, True):
                deploys.append(
                    drill_model_deploy(run.endpoint, run.seed, settings.deploy, broken, timeout_s)
                )
        if versions_runnable(capabilities, settings):
            deploys += drill_version_deploys(run, settings)
        if plan["restore"]:
            restore = drill_restore(run, settings)
        if plan["alerts"]:
            alerted = drill_alerting(run, settings)
        if plan["security"]:
            secured = drill_security(run, settings)
    finally:
        samples = stop_probes(stream)
    checks, measurements = judge_readiness(
        run.endpoint, samples, deploys, restore, secured, alerted, settings
    )
    result = SuiteResult(
        suite="readiness", checks=checks, measurements=measurements, started_at=started
    )
    record_readiness_evidence(
        run, samples, deploys, restore, secured, alerted, checks, settings.probe_series_max_points
    )
    result.finished_at = utc_now()
    record_suite_result(run, result)
    return result
