"""What a metric's name says about it: which direction is bad, whether it measures load.

The analyzer only sees names and numbers. A rising latency is a degradation, a
rising accuracy is not, and a rising request rate is demand rather than a
fault; the words in a metric's name are the only hint, so they are read here
and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Direction = Literal["up", "down", "either"]

_HIGHER_IS_BETTER = (
    "accuracy", "precision", "recall", "f1", "auc", "success", "availability", "uptime",
    "hit", "apdex", "healthy", "free", "available", "throughput",
)  # fmt: skip
_HIGHER_IS_WORSE = (
    "latency", "error", "errors", "fail", "failure", "failures", "timeout", "timeouts",
    "duration", "p50", "p90", "p95", "p99", "cpu", "memory", "mem", "disk", "queue",
    "backlog", "lag", "drop", "drops", "dropped", "reject", "rejected", "5xx", "4xx",
    "loss", "utilization", "utilisation", "saturation", "wait", "retries", "restarts",
    "swap", "gc", "ms", "seconds",
)  # fmt: skip
_LOAD = (
    "request", "requests", "rps", "qps", "traffic", "users", "sessions", "connections",
    "load", "throughput", "calls", "hits", "network", "bytes", "packets",
)  # fmt: skip
_CAPACITY = ("cpu", "memory", "mem", "disk", "queue", "utilization", "utilisation", "saturation")


@dataclass(frozen=True)
class MetricRole:
    """How to read changes in one metric."""

    bad_direction: Direction
    """Which way a change is a degradation."""
    is_load: bool
    """Whether the metric measures demand (requests, users)."""
    is_capacity: bool
    """Whether the metric measures use of a finite resource."""
    is_failure_signal: bool
    """Whether the metric measures errors, latency or model quality (a deploy's usual victims)."""


def metric_role(name: str) -> MetricRole:
    """Read a metric's role from the words in its name."""
    words = set(re.split(r"[^a-z0-9]+", name.lower()))
    better = bool(words & set(_HIGHER_IS_BETTER))
    worse = bool(words & set(_HIGHER_IS_WORSE))
    is_load = bool(words & set(_LOAD)) and not worse
    if better and not worse:
        bad: Direction = "down"
    elif worse and not better:
        bad = "up"
    else:
        bad = "either"
    failure = bool(
        words & {"latency", "error", "errors", "fail", "failure", "failures", "timeout", "5xx"}
        or words & {"p50", "p90", "p95", "p99", "duration"}
        or words & {"accuracy", "precision", "recall", "f1", "auc"}
    )
    return MetricRole(
        bad_direction="either" if is_load and bad == "either" else bad,
        is_load=is_load,
        is_capacity=bool(words & set(_CAPACITY)),
        is_failure_signal=failure,
    )


def is_degradation(role: MetricRole, change: float) -> bool:
    """Whether a signed change of a metric with this role is for the worse."""
    if role.is_load and role.bad_direction == "either":
        return False
    if role.bad_direction == "either":
        return change != 0.0
    return change > 0.0 if role.bad_direction == "up" else change < 0.0
