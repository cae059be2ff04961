"""Steps of the readiness suite: the probe stream, the drills, their judgement and record."""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import httpx
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from vigil.contract import labelled_rows
from vigil.errors import TargetUnavailableError
from vigil.observe import alerts, drills, security
from vigil.observe.alerts import AlertDrillObservation
from vigil.observe.probes import ProbeConfig, ProbeSample, ProbeStream
from vigil.readiness.config import DeployDrillConfig, ReadinessSuiteConfig
from vigil.readiness.evidence import DeployAttempt, RestoreObservation, SecurityObservation
from vigil.readiness.judgements import (
    judge_alerts,
    judge_availability,
    judge_broken_deploy,
    judge_good_deploy,
    judge_restore,
    judge_security,
)
from vigil.readiness.plan import not_applicable
from vigil.readiness.timeline import per_second
from vigil.results import CheckResult, Measurement
from vigil.run import SuiteRun
from vigil.scoring.availability import Window
from vigil.store import DrillRecord, ProbeSeriesRecord, open_store
from vigil.targets import running_target
from vigil.targets.base import TargetEndpoint
from vigil.targets.client import TargetClient

GATE_SEED_OFFSET = 1
"""The gate set is drawn apart from the training rows, so the gate judges generalisation."""
LATER_SEED_OFFSET = 2
FAULT_SETTLE_S = 1.0
"""A probe sent just before an injected fault ended may still be answered by it."""


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The run logger, or the module's when a step's logic is called directly (``.fn()``)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


@task(name="start-probes", cache_policy=NO_CACHE, persist_result=False)
def start_probes(endpoint: TargetEndpoint, config: ProbeConfig) -> ProbeStream:
    """Start the probe stream that runs for the whole suite.

    Args:
        endpoint: The target.
        config: Probe interval, timeout and bounds.
    """
    stream = ProbeStream(endpoint, config)
    stream.start()
    return stream


@task(name="stop-probes", cache_policy=NO_CACHE, persist_result=False)
def stop_probes(stream: ProbeStream) -> list[ProbeSample]:
    """Stop the probe stream and return its samples.

    Args:
        stream: The stream start_probes started.
    """
    stream.stop()
    samples = stream.samples()
    _logger().info(
        "Probe stream: %d probes, %d failed", len(samples), sum(not s.ok for s in samples)
    )
    return samples


@task(name="train-model", cache_policy=NO_CACHE, persist_result=False, timeout_seconds=300)
def train_model(endpoint: TargetEndpoint, seed: int, count: int, timeout_s: float) -> int:
    """Teach the model `count` labelled rows, so that a broken model is told by its answers.

    Args:
        endpoint: The target.
        seed: Seed of the labelled rows.
        count: How many rows.
        timeout_s: Timeout of each request.
    """
    with TargetClient(endpoint, timeout_s=timeout_s) as client:
        return drills.train(client, labelled_rows(seed, count))


@task(name="drill-model-deploy", cache_policy=NO_CACHE, persist_result=False, timeout_seconds=300)
def drill_model_deploy(
    endpoint: TargetEndpoint, seed: int, config: DeployDrillConfig, broken: bool, timeout_s: float
) -> DeployAttempt:
    """Deploy a model version behind the health gate; a gate failure rolls it back.

    Args:
        endpoint: The target.
        seed: The run's seed (the gate set is drawn from it).
        config: Gate bounds.
        broken: Deploy a deliberately broken model.
        timeout_s: Timeout of each request.
    """
    rows = labelled_rows(seed + GATE_SEED_OFFSET, config.gate_rows)
    with TargetClient(endpoint, timeout_s=timeout_s) as client:
        attempt = drills.deploy_model(client, rows, config, broken=broken)
    _logger().info(
        "Model deploy (broken=%s) of %s: gate %s, serving %s after",
        broken,
        attempt.version,
        "passed" if attempt.gate and attempt.gate.passed else "failed",
        attempt.serving_after,
    )
    return attempt


@task(
    name="drill-version-deploys", cache_policy=NO_CACHE, persist_result=False, timeout_seconds=900
)
def drill_version_deploys(run: SuiteRun, settings: ReadinessSuiteConfig) -> list[DeployAttempt]:
    """Deploy each configured target version in turn behind the gate (rolling back failures).

    Args:
        run: The run (its target must have been started by this process).
        settings: The suite's settings (the versions and the gate bounds).
    """
    target = running_target(run.endpoint)
    if not hasattr(target, "deploy"):
        _logger().warning("Target %r cannot deploy versions; skipped", run.endpoint.name)
        return []
    rows = labelled_rows(run.seed + GATE_SEED_OFFSET, settings.deploy.gate_rows)
    attempts = []
    serving = "initial"
    with TargetClient(run.endpoint, timeout_s=settings.request_timeout_s) as client:
        for name, version in settings.deploy.versions.items():
            attempt = drills.deploy_version(
                target,
                client,
                rows,
                name,
                version,
                settings.deploy,
                previous_name=serving,
                broken=name == settings.deploy.broken_version,
            )
            serving = attempt.serving_after or serving
            attempts.append(attempt)
            _logger().info(
                "Version deploy of %s: gate %s, serving %s after",
                name,
                "passed" if attempt.gate and attempt.gate.passed else "failed",
                attempt.serving_after,
            )
    return attempts


@task(name="drill-restore", cache_policy=NO_CACHE, persist_result=False, timeout_seconds=900)
def drill_restore(run: SuiteRun, settings: ReadinessSuiteConfig) -> RestoreObservation:
    """Back up, destroy the target's data, restore, verify, and offer a truncated backup.

    Args:
        run: The run (its target must have been started by this process).
        settings: The suite's settings.
    """
    target = running_target(run.endpoint)
    gate = labelled_rows(run.seed + GATE_SEED_OFFSET, settings.deploy.gate_rows)
    later = labelled_rows(run.seed + LATER_SEED_OFFSET, settings.restore.writes_after_backup)
    with (
        TargetClient(run.endpoint, timeout_s=settings.request_timeout_s) as client,
        tempfile.TemporaryDirectory(prefix="vigil-vault-") as vault,
    ):
        seen = drills.run_restore_drill(target, client, gate, later, settings.restore, Path(vault))
    _logger().info(
        "Restore drill: backup %s, restored at %s, truncated copy answered %s",
        seen.backup_id,
        seen.restored_at,
        seen.corrupt_status,
    )
    return seen


@task(name="drill-security", cache_policy=NO_CACHE, persist_result=False, timeout_seconds=300)
def drill_security(run: SuiteRun, settings: ReadinessSuiteConfig) -> SecurityObservation:
    """Bad tokens, the timing test, bad input, generated requests, and the secret scan.

    Args:
        run: The run (its report folder and the target's log are scanned).
        settings: The suite's settings.
    """
    logs: list[Path] = []
    try:
        log_path = getattr(running_target(run.endpoint), "log_path", None)
        if log_path is not None:
            logs.append(Path(log_path))
    except TargetUnavailableError:
        pass  # a target started elsewhere has no log that vigil captured
    return security.run_security_drill(
        run.endpoint,
        settings.security,
        log_files=logs,
        report_dir=run.report_dir,
        seed=run.seed,
        env=dict(os.environ),
    )


@task(name="drill-alerting", cache_policy=NO_CACHE, persist_result=False, timeout_seconds=600)
def drill_alerting(run: SuiteRun, settings: ReadinessSuiteConfig) -> AlertDrillObservation:
    """Scrape /metrics under the alert rules, inject the fault, watch the alert fire and resolve.

    Args:
        run: The run and the target's endpoint.
        settings: The suite's settings (rules, fault, bounds, webhook).
    """
    config = settings.alerts
    rules = list(config.rules)
    if config.rules_file is not None:
        rules += alerts.load_rules(config.rules_file)
    token = run.endpoint.admin_token
    headers = {"Authorization": f"Bearer {token.resolve().get_secret_value()}"} if token else {}
    with httpx.Client(
        base_url=run.endpoint.base_url, timeout=httpx.Timeout(settings.request_timeout_s)
    ) as http:
        seen = alerts.run_alert_drill(
            http,
            headers,
            rules,
            config.alert,
            fault={"rate": config.fault_rate, "seconds": config.fault_seconds},
            fault_path=config.fault_path,
            scrape_interval_s=config.scrape_interval_s,
            fire_within_s=config.fire_within_s,
            resolve_within_s=config.resolve_within_s,
            webhook_url=config.webhook_url,
            webhook_timeout_s=settings.request_timeout_s,
            requests_per_scrape=config.requests_per_scrape,
        )
    _logger().info(
        "Alert drill: %s fired at %s, resolved at %s", config.alert, seen.fired_at, seen.resolved_at
    )
    return seen


@task(name="judge-readiness", cache_policy=NO_CACHE, persist_result=False)
def judge_readiness(
    endpoint: TargetEndpoint,
    samples: list[ProbeSample],
    deploys: list[DeployAttempt],
    restore: RestoreObservation | None,
    secured: SecurityObservation | None,
    alerted: AlertDrillObservation | None,
    settings: ReadinessSuiteConfig,
) -> tuple[list[CheckResult], list[Measurement]]:
    """Judge every drill and the probe stream into checks and measures.

    Args:
        endpoint: The target (for its capabilities).
        samples: The probe stream's samples.
        deploys: The deploy attempts, in order.
        restore: The restore drill's observation, if it ran.
        secured: The security drill's observation, if it ran.
        alerted: The alert drill's observation, if it ran.
        settings: The suite's settings (bounds).
    """
    checks: list[CheckResult] = list(not_applicable(endpoint.capabilities, settings))
    measures: list[Measurement] = []
    for attempt in deploys:
        prefix = "" if attempt.kind == "model" else "version_"
        judged = (
            judge_broken_deploy(attempt, prefix)
            if attempt.broken
            else judge_good_deploy(attempt, samples, prefix)
        )
        checks += judged[0]
        measures += judged[1]
    if restore is not None:
        judged = judge_restore(restore, settings.restore.score_tolerance)
        checks += judged[0]
        measures += judged[1]
    if secured is not None:
        judged = judge_security(
            secured, settings.security.timing_alpha, settings.security.timing_min_effect_ms
        )
        checks += judged[0]
        measures += judged[1]
    if alerted is not None:
        config = settings.alerts
        judged = judge_alerts(
            alerted, config.fire_within_s, config.resolve_within_s, config.webhook_url is not None
        )
        checks += judged[0]
        measures += judged[1]
    judged = judge_availability(samples, excluded_windows(restore, alerted))
    return [*judged[0], *checks], [*judged[1], *measures]


def excluded_windows(
    restore: RestoreObservation | None, alerted: AlertDrillObservation | None = None
) -> list[Window]:
    """Deliberate fault windows: the data destruction and the alert drill's injected errors."""
    windows: list[Window] = []
    if restore is not None and restore.destroyed_at is not None:
        end = restore.target_back_at or restore.restore_started_at or restore.destroyed_at
        windows.append((restore.destroyed_at, end))
    if alerted is not None and alerted.injected_at is not None:
        end = alerted.fault_ends_at or alerted.injected_at
        windows.append((alerted.injected_at, end + timedelta(seconds=FAULT_SETTLE_S)))
    return windows


@task(name="record-readiness-evidence", cache_policy=NO_CACHE, persist_result=False, retries=2)
def record_readiness_evidence(
    run: SuiteRun,
    samples: list[ProbeSample],
    deploys: list[DeployAttempt],
    restore: RestoreObservation | None,
    secured: SecurityObservation | None,
    alerted: AlertDrillObservation | None,
    checks: list[CheckResult],
    max_points: int,
) -> None:
    """Write the drills' evidence and the per-second probe timeline to vigil's store.

    Args:
        run: The run.
        samples: The probe stream's samples.
        deploys: The deploy attempts.
        restore: The restore drill's observation.
        secured: The security drill's observation.
        alerted: The alert drill's observation.
        checks: The judged checks (each drill's status comes from them).
        max_points: Bound on the seconds of probe timeline stored.
    """
    status = {c.name: c.status.value for c in checks}
    records = []
    for attempt in deploys:
        prefix = "" if attempt.kind == "model" else "version_"
        name = "broken_deploy_rolled_back" if attempt.broken else "deploy_without_failed_requests"
        records.append(
            DrillRecord(
                run_id=run.run_id,
                drill=f"{prefix}{'broken_deploy' if attempt.broken else 'deploy'}",
                status=status.get(prefix + name, "error"),
                started_at=attempt.started_at,
                finished_at=attempt.finished_at or attempt.started_at,
                evidence=attempt.model_dump(mode="json"),
            )
        )
    if restore is not None and restore.before is not None:
        for window_start, window_end in excluded_windows(restore):
            records.append(
                DrillRecord(
                    run_id=run.run_id,
                    drill="destroy_data",
                    status="fault",
                    started_at=window_start,
                    finished_at=window_end,
                    excluded_from_availability=True,
                    evidence={"what": "target stopped and its data deleted, on purpose"},
                )
            )
        records.append(
            DrillRecord(
                run_id=run.run_id,
                drill="backup_restore",
                status=status.get("restore_is_identical", "error"),
                started_at=restore.before.taken_at,
                finished_at=restore.restored_at or restore.before.taken_at,
                evidence=restore.model_dump(mode="json"),
            )
        )
    if secured is not None:
        records.append(
            DrillRecord(
                run_id=run.run_id,
                drill="security",
                status="failed"
                if any(status.get(n) == "failed" for n in _SECURITY_CHECKS)
                else "passed",
                started_at=secured.started_at,
                finished_at=secured.finished_at or secured.started_at,
                evidence={
                    "leaks": secured.leaks,
                    "scanned": secured.scanned,
                    "refusals": len(secured.refusals),
                    "bad_input": len(secured.bad_input),
                    "generated": len(secured.generated),
                },
            )
        )
    if alerted is not None and alerted.injected_at is not None:
        for window_start, window_end in excluded_windows(None, alerted):
            records.append(
                DrillRecord(
                    run_id=run.run_id,
                    drill="inject_errors",
                    status="fault",
                    started_at=window_start,
                    finished_at=window_end,
                    excluded_from_availability=True,
                    evidence={"what": "5xx injected through the target's fault hook, on purpose"},
                )
            )
        records.append(
            DrillRecord(
                run_id=run.run_id,
                drill="alerting",
                status=status.get("alert_fires_within_bound", "error")
                if status.get("alert_resolves_after_recovery", "passed") == "passed"
                else "failed",
                started_at=alerted.injected_at,
                finished_at=alerted.resolved_at or alerted.fault_ends_at or alerted.injected_at,
                evidence=alerted.model_dump(mode="json"),
            )
        )
    points = [
        ProbeSeriesRecord(
            run_id=run.run_id,
            suite="readiness",
            second=p.second,
            sent=p.sent,
            good=p.good,
            failed=p.failed,
            max_latency_ms=p.max_latency_ms,
        )
        for p in per_second(samples, max_points)
    ]
    store = open_store(run.store)
    store.record_drills(run.run_id, records)
    store.record_probe_series(run.run_id, "readiness", points)


_SECURITY_CHECKS = (
    "admin_refuses_bad_tokens",
    "token_check_constant_time",
    "no_5xx_on_bad_input",
    "no_secret_leaked",
)

__all__ = [
    "drill_alerting",
    "drill_model_deploy",
    "drill_restore",
    "drill_security",
    "drill_version_deploys",
    "judge_readiness",
    "record_readiness_evidence",
    "start_probes",
    "stop_probes",
    "train_model",
]
