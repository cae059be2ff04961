"""The integration suite: the target's HTTP contract, checked with real requests."""

from __future__ import annotations

from prefect import flow

from tasks.bookkeeping import record_suite_result
from tasks.integration import (
    check_bad_requests,
    check_health,
    check_metrics,
    judge_round_trip,
    run_feedback_round_trip,
    run_plugin_checks,
)
from vigil.results import Measurement, SuiteResult, utc_now
from vigil.run import SuiteRun
from vigil.suites import IntegrationSuiteConfig


@flow(name="integration")
def integration(run: SuiteRun, settings: IntegrationSuiteConfig) -> SuiteResult:
    """Check health, metrics, the predict/feedback/evaluation loop and bad-input handling.

    Args:
        run: The run and the started target's endpoint.
        settings: The suite's settings (how many feedback rounds, request timeout).
    """
    started = utc_now()
    checks = [check_health(run.endpoint), check_metrics(run.endpoint)]
    trip = run_feedback_round_trip(
        run.endpoint, run.seed, settings.feedback_rounds, settings.request_timeout_s
    )
    checks += judge_round_trip(trip, run.endpoint)
    labelled = trip.predictions[0].request_id if trip.predictions else None
    checks.append(check_bad_requests(run.endpoint, labelled))
    if settings.extra_checks:
        checks += run_plugin_checks(run.endpoint, settings.extra_checks)

    result = SuiteResult(suite="integration", checks=checks, started_at=started)
    if result.pass_rate is not None:
        result.measurements.append(Measurement(name="pass_rate", value=result.pass_rate))
    result.finished_at = utc_now()
    record_suite_result(run, result)
    return result
