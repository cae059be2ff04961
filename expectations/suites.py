"""vigil's Great Expectations suites, one per dataset, defined in code.

* ``synthetic_metrics`` -- the generated metrics history: schema and types, no
  nulls, timestamps unique, sorted and evenly spaced, every metric within its
  physical range, daily seasonality in the request rate.
* ``synthetic_metric_labels`` -- its ground truth: every labelled window lies
  inside the data, ends after it starts, names a real metric and a known kind.
* ``learning_effectiveness`` -- the learning outputs: one row per simulated
  day, quality in range, the improvement statistic and its confidence interval
  present and finite.

Each builder takes the few numbers that depend on the run (resolution, span,
days) and returns a fresh ``gx.ExpectationSuite``. Great Expectations is
imported inside the builders only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from vigil.scoring.learning import LEARNING_STATISTICS
from vigil.synth.config import LABEL_KINDS, METRIC_NAMES, SECONDS_PER_DAY

if TYPE_CHECKING:
    import great_expectations as gx
    from great_expectations.expectations.expectation import Expectation

# Physical ranges the suite enforces; None = no upper bound.
RATIO_METRICS = ("error_rate", "cpu_utilization", "model_accuracy")
NON_NEGATIVE_METRICS = (
    "request_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "memory_bytes",
    "queue_depth",
    "active_users_light",
    "active_users_moderate",
    "active_users_heavy",
)
INTEGER_METRICS = (
    "memory_bytes",
    "queue_depth",
    "active_users_light",
    "active_users_moderate",
    "active_users_heavy",
)
LEARNING_COLUMNS = ("day", "accuracy", "log_loss", "count", *LEARNING_STATISTICS)
# The improvement is a difference of accuracies and the slope an accuracy per day: both lie in
# [-1, 1]. Bounding them also rejects infinities, which "not null" would let through.
STATISTIC_BOUND = 1.0
DEFAULT_MIN_DAILY_AUTOCORRELATION = 0.3
# Log loss with probabilities clipped at 1e-15 cannot exceed ~34.5; above that it is broken.
MAX_LOG_LOSS = 50.0


def build_synthetic_metrics_suite(
    resolution_seconds: int = 60,
    min_daily_autocorrelation: float = DEFAULT_MIN_DAILY_AUTOCORRELATION,
) -> gx.ExpectationSuite:
    """The ``synthetic_metrics`` suite for a history sampled every `resolution_seconds`.

    Args:
        resolution_seconds: Expected spacing of the timestamps.
        min_daily_autocorrelation: Bound the request rate's autocorrelation at a lag of one
            day must exceed.
    """
    import great_expectations as gx

    from expectations.time_series import (
        ExpectColumnAutocorrelationAtLagToBeAbove,
        ExpectColumnValuesToBeEvenlySpaced,
    )

    samples_per_day = SECONDS_PER_DAY // resolution_seconds
    name, notes = (
        "synthetic_metrics",
        "vigil's synthetic metrics history: schema, ranges, spacing, seasonality",
    )
    rules: list[Expectation] = []
    expect = gx.expectations
    rules.append(
        expect.ExpectTableColumnsToMatchOrderedList(column_list=["timestamp", *METRIC_NAMES])
    )
    rules.append(expect.ExpectTableRowCountToBeBetween(min_value=2 * samples_per_day))
    # Pandas reports a timezone-aware column's values as Timestamp; a naive one as datetime64.
    rules.append(expect.ExpectColumnValuesToBeOfType(column="timestamp", type_="Timestamp"))
    rules.append(expect.ExpectColumnValuesToNotBeNull(column="timestamp"))
    rules.append(expect.ExpectColumnValuesToBeUnique(column="timestamp"))
    rules.append(expect.ExpectColumnValuesToBeIncreasing(column="timestamp", strictly=True))
    rules.append(
        ExpectColumnValuesToBeEvenlySpaced(column="timestamp", step_seconds=resolution_seconds)
    )
    for metric in METRIC_NAMES:
        type_ = "int64" if metric in INTEGER_METRICS else "float64"
        rules.append(expect.ExpectColumnValuesToBeOfType(column=metric, type_=type_))
        rules.append(expect.ExpectColumnValuesToNotBeNull(column=metric))
        if metric in RATIO_METRICS:
            rules.append(
                expect.ExpectColumnValuesToBeBetween(column=metric, min_value=0, max_value=1)
            )
        else:
            rules.append(expect.ExpectColumnValuesToBeBetween(column=metric, min_value=0))
    rules.append(
        expect.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="latency_p95_ms", column_B="latency_p50_ms", or_equal=True
        )
    )
    rules.append(
        ExpectColumnAutocorrelationAtLagToBeAbove(
            column="request_rate", lag=samples_per_day, min_value=min_daily_autocorrelation
        )
    )
    # Built from the full list: adding one by one to a suite whose name the context already
    # holds would re-save it after every expectation.
    return gx.ExpectationSuite(name=name, expectations=rules, meta={"notes": notes})


def build_synthetic_metric_labels_suite(
    data_start: datetime, data_end: datetime
) -> gx.ExpectationSuite:
    """The ``synthetic_metric_labels`` suite for labels of data spanning the given timestamps.

    Args:
        data_start: First timestamp of the metrics history the labels describe.
        data_end: Last timestamp of that history.
    """
    import great_expectations as gx

    name, notes = (
        "synthetic_metric_labels",
        "ground truth of the metrics history: windows inside the data",
    )
    rules: list[Expectation] = []
    expect = gx.expectations
    rules.append(
        expect.ExpectTableColumnsToMatchOrderedList(column_list=["metric", "start", "end", "kind"])
    )
    for column in ("metric", "start", "end", "kind"):
        rules.append(expect.ExpectColumnValuesToNotBeNull(column=column))
    rules.append(expect.ExpectColumnValuesToBeInSet(column="metric", value_set=list(METRIC_NAMES)))
    rules.append(expect.ExpectColumnValuesToBeInSet(column="kind", value_set=list(LABEL_KINDS)))
    for column in ("start", "end"):
        rules.append(
            expect.ExpectColumnValuesToBeBetween(
                column=column, min_value=data_start.isoformat(), max_value=data_end.isoformat()
            )
        )
    rules.append(
        expect.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="end", column_B="start", or_equal=True
        )
    )
    # Built from the full list: adding one by one to a suite whose name the context already
    # holds would re-save it after every expectation.
    return gx.ExpectationSuite(name=name, expectations=rules, meta={"notes": notes})


def build_learning_effectiveness_suite(days: int = 30) -> gx.ExpectationSuite:
    """The ``learning_effectiveness`` suite for a stream of `days` simulated days.

    Args:
        days: Simulated days; the frame must hold exactly one row for each.
    """
    import great_expectations as gx

    name, notes = (
        "learning_effectiveness",
        "per-day quality of the target and its improvement with a CI",
    )
    rules: list[Expectation] = []
    expect = gx.expectations
    rules.append(expect.ExpectTableColumnsToMatchSet(column_set=list(LEARNING_COLUMNS)))
    rules.append(expect.ExpectTableRowCountToEqual(value=days))
    rules.append(expect.ExpectColumnValuesToBeUnique(column="day"))
    rules.append(
        expect.ExpectColumnValuesToBeBetween(column="day", min_value=0, max_value=days - 1)
    )
    for column in ("day", "accuracy", "log_loss", "count"):
        rules.append(expect.ExpectColumnValuesToNotBeNull(column=column))
    rules.append(expect.ExpectColumnValuesToBeBetween(column="accuracy", min_value=0, max_value=1))
    rules.append(
        expect.ExpectColumnValuesToBeBetween(column="log_loss", min_value=0, max_value=MAX_LOG_LOSS)
    )
    rules.append(expect.ExpectColumnValuesToBeBetween(column="count", min_value=1))
    for column in LEARNING_STATISTICS:
        rules.append(expect.ExpectColumnValuesToNotBeNull(column=column))
        rules.append(
            expect.ExpectColumnValuesToBeBetween(
                column=column, min_value=-STATISTIC_BOUND, max_value=STATISTIC_BOUND
            )
        )
    for low, high in (
        ("improvement_ci_low", "improvement_ci_high"),
        ("slope_ci_low", "slope_ci_high"),
    ):
        rules.append(
            expect.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=high, column_B=low, or_equal=True
            )
        )
    # Built from the full list: adding one by one to a suite whose name the context already
    # holds would re-save it after every expectation.
    return gx.ExpectationSuite(name=name, expectations=rules, meta={"notes": notes})


SUITE_BUILDERS: dict[str, Callable[..., Any]] = {
    "synthetic_metrics": build_synthetic_metrics_suite,
    "synthetic_metric_labels": build_synthetic_metric_labels_suite,
    "learning_effectiveness": build_learning_effectiveness_suite,
}
"""Suite name -> builder. The runner looks suites up here by name."""
