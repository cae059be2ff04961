"""Prometheus metrics of the service, in prometheus-client multiprocess mode.

Import this module only after ``PROMETHEUS_MULTIPROC_DIR`` is set (the supervisor
sets it before it starts anything), so every process writes its samples to the
shared directory and ``/metrics`` can aggregate all of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "reference_requests_total", "HTTP requests served.", ["endpoint", "method", "status"]
)
LATENCY = Histogram(
    "reference_request_duration_seconds",
    "HTTP request latency.",
    ["endpoint", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
MODEL_UPDATE = Histogram(
    "reference_model_update_seconds",
    "Time from a feedback being accepted (stamped before its commit) to the serving model "
    "having learned it, observed by the primary worker for feedback accepted while it ran.",
    buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60),
)
ERRORS = Counter("reference_errors_total", "Responses with a 5xx status.", ["endpoint"])
PREDICTIONS = Counter("reference_predictions_total", "Predictions served.")
FEEDBACK = Counter("reference_feedback_total", "Feedback accepted.", ["mode"])
MODEL_ACCURACY = Gauge(
    "reference_model_accuracy",
    "Prequential accuracy of the newest 1000 labelled predictions.",
    multiprocess_mode="mostrecent",
)
FEEDBACK_BACKLOG = Gauge(
    "reference_feedback_backlog",
    "Feedback not yet committed to the database (queued or in the local buffer).",
    multiprocess_mode="livesum",
)
INCIDENTS = Counter("reference_incidents_total", "Incidents detected.", ["kind"])
WORKER_RESTARTS = Counter(
    "reference_worker_restarts_total", "Worker processes restarted.", ["reason"]
)
WORKERS_ALIVE = Gauge(
    "reference_workers_alive", "Worker processes alive.", multiprocess_mode="mostrecent"
)


def render() -> tuple[bytes, str]:
    """Aggregate every process's samples into one Prometheus text page."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=os.environ[MULTIPROC_ENV])
    return generate_latest(registry), CONTENT_TYPE_LATEST


def forget_process(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters are kept)."""
    multiprocess.mark_process_dead(pid, os.environ[MULTIPROC_ENV])
