"""Steps of the workflow suite's patterns part: history -> analysis -> score -> record."""

from __future__ import annotations

import contextlib
import json
import time

import numpy as np
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import ValidationError

from vigil import contract
from vigil.errors import TargetProtocolError, TargetUnavailableError
from vigil.results import CheckResult, Status
from vigil.run import SuiteRun
from vigil.scoring.patterns import (
    OptimizationConfig,
    PatternAnswer,
    PatternScore,
    PatternsPartConfig,
    pattern_checks,
    score_patterns,
)
from vigil.store import PatternWindowRecord, open_store
from vigil.synth.config import METRIC_NAMES
from vigil.synth.metrics import MetricsHistory, generate_metrics_history
from vigil.targets.base import TargetEndpoint
from vigil.targets.client import TargetClient

ANALYZE_PATH = "/patterns/analyze"
WARM_UP_REQUESTS = 10
"""Untimed requests before a measurement (the first requests open connections)."""
VALUE_DECIMALS = 6
"""Decimals sent per value: far below every metric's noise, and a third off the body's size."""


@task(name="generate-metrics-history", cache_policy=NO_CACHE, persist_result=False)
def generate_history(run: SuiteRun) -> MetricsHistory:
    """Regenerate the run's metrics history (the data the data suite checked).

    Args:
        run: The run (its seed and its dataset settings).
    """
    return generate_metrics_history(run.datasets.metrics, seed=run.seed)


@task(name="build-analysis-request", cache_policy=NO_CACHE, persist_result=False)
def build_request(
    history: MetricsHistory, metrics: list[str], settings: PatternsPartConfig
) -> bytes:
    """The JSON body of the analysis request: evenly spaced series from the history's start.

    Args:
        history: The generated history.
        metrics: The metrics to send.
        settings: The part's settings (sensitivity).
    """
    frame = history.frame
    step = int((frame["timestamp"].iloc[1] - frame["timestamp"].iloc[0]).total_seconds())
    body = {
        "start": frame["timestamp"].iloc[0].isoformat(),
        "step_seconds": step,
        "series": {
            name: np.round(frame[name].to_numpy(dtype=float), VALUE_DECIMALS).tolist()
            for name in metrics
        },
        "sensitivity": settings.sensitivity,
    }
    return json.dumps(body).encode()


@task(name="request-pattern-analysis", cache_policy=NO_CACHE, persist_result=False)
def request_analysis(
    endpoint: TargetEndpoint, body: bytes, timeout_s: float
) -> tuple[PatternAnswer | None, CheckResult]:
    """Send the series to `POST /patterns/analyze` and read the answer.

    Args:
        endpoint: The started target.
        body: The request body.
        timeout_s: Timeout of the request.

    Returns:
        The answer (None when there is none to score) and the check that it was given.
    """
    name = "pattern_analysis_answered"
    try:
        with TargetClient(endpoint, timeout_s=timeout_s) as client:
            response = client.request(
                "POST", ANALYZE_PATH, content=body, headers={"content-type": "application/json"}
            )
    except TargetUnavailableError as exc:
        return None, CheckResult(name=name, status=Status.FAILED, message=str(exc))
    if response.status_code != 200:
        return None, CheckResult(
            name=name,
            status=Status.FAILED,
            message=(f"POST {ANALYZE_PATH} answered {response.status_code}: {response.text[:300]}"),
        )
    try:
        answer = PatternAnswer.model_validate_json(response.content)
    except ValidationError as exc:
        return None, CheckResult(
            name=name,
            status=Status.FAILED,
            message=f"POST {ANALYZE_PATH} answered a body vigil cannot read: {exc}"[:500],
        )
    seconds = response.elapsed.total_seconds()
    message = (
        f"{len(answer.anomalies)} anomalies, {len(answer.patterns)} patterns and "
        f"{len(answer.recommendations)} recommendations in {seconds:.1f} s"
    )
    return answer, CheckResult(
        name=name, status=Status.PASSED, message=message, measured={"seconds": seconds}
    )


@task(name="score-patterns", cache_policy=NO_CACHE, persist_result=False)
def score_answer(
    answer: PatternAnswer,
    history: MetricsHistory,
    metrics: list[str],
    growth_per_30_days: float,
    settings: PatternsPartConfig,
) -> PatternScore:
    """Score the answer against the history's truth.

    Args:
        answer: What the target answered.
        history: The history it analysed (its labels and cycle truth).
        metrics: The metrics that were sent.
        growth_per_30_days: The history's traffic growth.
        settings: Tolerances and weights.
    """
    score = score_patterns(
        answer, history.labels, history.cycles, growth_per_30_days, settings, metrics
    )
    get_run_logger().info(
        "Pattern accuracy %.3f: F1 %.3f, seasonality %.3f, recommendations %.3f",
        score.pattern_accuracy,
        score.pattern_f1,
        score.seasonality_accuracy,
        score.recommendation_precision,
    )
    return score


@task(name="judge-patterns", cache_policy=NO_CACHE)
def judge_score(score: PatternScore, settings: PatternsPartConfig) -> list[CheckResult]:
    """The part's checks over its score.

    Args:
        score: The scored answer.
        settings: The thresholds.
    """
    return pattern_checks(score, settings)


@task(name="record-pattern-windows", cache_policy=NO_CACHE, persist_result=False, retries=2)
def record_windows(run: SuiteRun, score: PatternScore) -> None:
    """Store the labelled and reported windows and how each was scored, for the report.

    Args:
        run: The run.
        score: The scored answer.
    """
    records = [
        PatternWindowRecord(
            run_id=run.run_id,
            side=window.side,
            metric=window.metric,
            kind=window.kind,
            start=window.start,
            end=window.end,
            outcome=window.outcome,
        )
        for window in score.detection.windows
    ]
    open_store(run.store).record_pattern_windows(run.run_id, records)


def metrics_to_send(settings: PatternsPartConfig) -> list[str]:
    """The metrics the settings name, or all of them.

    Args:
        settings: The part's settings.
    """
    return list(settings.metrics) if settings.metrics is not None else list(METRIC_NAMES)


@task(name="measure-predict-load", cache_policy=NO_CACHE, persist_result=False)
def measure_load(
    endpoint: TargetEndpoint, seed: int, settings: OptimizationConfig, measure: str, phase: int
) -> list[float]:
    """Short bounded rounds of sequential `POST /predict`; the measure of each round.

    Every round sends rows never sent before (per phase and round), so that a
    prediction cache cannot make a later phase look faster; a few untimed
    requests warm the connection first.

    Args:
        endpoint: The started target.
        seed: Seed of the request rows.
        settings: Rounds, requests per round and the time bound of a round.
        measure: ``p95_latency_ms`` or ``error_rate``.
        phase: 0 before the change, 1 after it (selects fresh rows).
    """
    per_round = settings.requests_per_round
    rows = contract.labelled_rows(seed * 10 + phase, (settings.rounds + 1) * per_round)
    results: list[float] = []
    with TargetClient(endpoint) as client:
        for row in rows[:WARM_UP_REQUESTS]:
            with contextlib.suppress(TargetUnavailableError):
                client.request("POST", "/predict", json={"features": row.features})
        for number in range(1, settings.rounds + 1):
            latencies: list[float] = []
            errors = 0
            deadline = time.monotonic() + settings.round_timeout_s
            for row in rows[number * per_round : (number + 1) * per_round]:
                if time.monotonic() > deadline:
                    break
                started = time.perf_counter()
                try:
                    response = client.request("POST", "/predict", json={"features": row.features})
                    failed = response.status_code >= 500
                except TargetUnavailableError:
                    failed = True
                latencies.append((time.perf_counter() - started) * 1000.0)
                errors += failed
            if not latencies:
                continue
            if measure == "error_rate":
                results.append(errors / len(latencies))
            else:
                results.append(float(np.percentile(latencies, 95)))
    return results


@task(name="change-target-config", cache_policy=NO_CACHE, persist_result=False, retries=1)
def change_config(endpoint: TargetEndpoint, body: dict[str, float]) -> dict[str, float]:
    """`POST /admin/config` with `body` (empty: read only); the configuration now in force.

    Args:
        endpoint: The started target.
        body: The keys to change.
    """
    with TargetClient(endpoint) as client:
        response = client.admin("POST", "/admin/config", json=body)
    if response.status_code != 200:
        raise TargetProtocolError(
            f"POST /admin/config answered {response.status_code}: {response.text[:300]}",
            status_code=response.status_code,
        )
    # Values keep their JSON types: the target may refuse 1024.0 where it wants 1024.
    return dict(response.json())


@task(name="wait-for-change", cache_policy=NO_CACHE)
def settle(seconds: float) -> None:
    """Give the target time to act on a configuration change (new workers start).

    Args:
        seconds: How long to wait.
    """
    time.sleep(seconds)
