"""Steps of the integration suite: the target's HTTP contract, checked for real."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from vigil import contract
from vigil.contract import RoundTrip
from vigil.results import CheckResult
from vigil.targets.base import TargetEndpoint
from vigil.targets.client import TargetClient


@task(name="check-health", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def check_health(endpoint: TargetEndpoint) -> CheckResult:
    """Check that `GET /health` reports ok with a model version.

    Args:
        endpoint: The started target.
    """
    with TargetClient(endpoint) as client:
        return contract.health_reports_ok(endpoint.capabilities, client)


@task(name="check-metrics", cache_policy=NO_CACHE)
def check_metrics(endpoint: TargetEndpoint) -> CheckResult:
    """Check that `GET /metrics` is valid Prometheus text.

    Args:
        endpoint: The started target.
    """
    with TargetClient(endpoint) as client:
        return contract.metrics_exposed(endpoint.capabilities, client)


@task(name="run-feedback-round-trip", cache_policy=NO_CACHE, timeout_seconds=600)
def run_feedback_round_trip(
    endpoint: TargetEndpoint, seed: int, rounds: int, timeout_s: float
) -> RoundTrip:
    """Predict `rounds` labelled rows, send their true labels, read the evaluation around it.

    Args:
        endpoint: The started target.
        seed: Seed of the labelled rows.
        rounds: How many rows to predict and label.
        timeout_s: Timeout of each request.
    """
    rows = contract.labelled_rows(seed, rounds)
    with TargetClient(endpoint, timeout_s=timeout_s) as client:
        trip = contract.run_round_trip(client, rows)
    get_run_logger().info(
        "Round trip: %d predictions served, %d labels refused, evaluation count %s -> %s",
        len(trip.predictions),
        len(trip.feedback_errors),
        trip.count_before,
        trip.count_after,
    )
    return trip


@task(name="judge-round-trip", cache_policy=NO_CACHE)
def judge_round_trip(trip: RoundTrip, endpoint: TargetEndpoint) -> list[CheckResult]:
    """Judge what the round trip observed: served, accepted, counted, versioned.

    Args:
        trip: What run_feedback_round_trip observed.
        endpoint: The started target (for its capabilities).
    """
    caps = endpoint.capabilities
    judged = [
        contract.predictions_served(caps, trip),
        contract.feedback_accepted(caps, trip),
        contract.evaluation_counts_feedback(caps, trip),
        contract.model_version_reported(caps, trip),
    ]
    # These checks judge the round trip, so they span its time, not the judging's.
    span = {"started_at": trip.started_at, "finished_at": trip.finished_at}
    return [check.model_copy(update=span) for check in judged]


@task(name="check-bad-requests", cache_policy=NO_CACHE)
def check_bad_requests(endpoint: TargetEndpoint, labelled_request_id: str | None) -> CheckResult:
    """Send the corpus of bad requests and check each gets the right 4xx.

    Args:
        endpoint: The started target.
        labelled_request_id: A request already labelled, to test a second label (409).
    """
    with TargetClient(endpoint) as client:
        return contract.bad_requests_rejected(endpoint.capabilities, client, labelled_request_id)


@task(name="run-plugin-checks", cache_policy=NO_CACHE)
def run_plugin_checks(endpoint: TargetEndpoint, names: list[str]) -> list[CheckResult]:
    """Run the checks that plugins installed and the configuration names.

    Args:
        endpoint: The started target.
        names: The checks' names (``suites.integration.extra_checks``).
    """
    from vigil.checks import load_plugin_check

    with TargetClient(endpoint) as client:
        return [load_plugin_check(name)(endpoint.capabilities, client) for name in names]
