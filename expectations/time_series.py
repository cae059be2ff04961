"""vigil's own Great Expectations rules for time series, with the metrics they measure.

Importing this module imports Great Expectations (seconds of start-up) and
registers the metrics and expectations below with GX's registry -- that is how
GX finds a metric by name. Only :mod:`expectations.runner` imports it, from
inside the functions that validate.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnAggregateExpectation
from great_expectations.expectations.metrics.column_aggregate_metric_provider import (
    ColumnAggregateMetricProvider,
    column_aggregate_value,
)


class ColumnAutocorrelationAtLag(ColumnAggregateMetricProvider):
    """Pearson correlation of a column with itself shifted by `lag` rows."""

    metric_name = "column.autocorrelation_at_lag"
    value_keys = ("lag",)

    @column_aggregate_value(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, lag: int, **kwargs: Any) -> float | None:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        if lag < 1 or values.size <= lag + 1:
            return None
        head, tail = values[:-lag], values[lag:]
        # A constant series has no correlation to speak of; report it as zero, not NaN.
        if np.nanstd(head) == 0 or np.nanstd(tail) == 0:
            return 0.0
        correlation = pd.Series(head).corr(pd.Series(tail))
        return None if pd.isna(correlation) else float(correlation)


class ColumnIrregularStepCount(ColumnAggregateMetricProvider):
    """How many consecutive timestamps are not `step_seconds` apart (and the steps seen)."""

    metric_name = "column.irregular_step_count"
    value_keys = ("step_seconds",)

    @column_aggregate_value(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, step_seconds: float | None, **kwargs: Any) -> dict:
        stamps = pd.to_datetime(column, utc=True)
        steps = stamps.diff().dropna().dt.total_seconds().to_numpy()
        if steps.size == 0:
            return {"irregular": 0, "expected_step_seconds": step_seconds, "largest_step": None}
        expected = float(step_seconds) if step_seconds else float(pd.Series(steps).mode().iloc[0])
        irregular = int(np.count_nonzero(~np.isclose(steps, expected)))
        return {
            "irregular": irregular,
            "expected_step_seconds": expected,
            "largest_step": float(steps.max()),
            "smallest_step": float(steps.min()),
        }


class ExpectColumnAutocorrelationAtLagToBeAbove(ColumnAggregateExpectation):
    """Expect a column to repeat itself after `lag` rows: its autocorrelation there exceeds a bound.

    With `lag` set to one day of samples this states that the series has daily
    seasonality; a flattened or shuffled series fails it.
    """

    lag: int
    # Required, not defaulted: GX leaves defaults out of the stored configuration, and the
    # bound should be visible in every report.
    min_value: float

    metric_dependencies = ("column.autocorrelation_at_lag",)
    success_keys = ("lag", "min_value")
    args_keys = ("column", "lag", "min_value")
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["vigil", "seasonality"]}

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        observed = metrics.get("column.autocorrelation_at_lag")
        bound = self.configuration.kwargs["min_value"]
        success = observed is not None and observed > bound
        return {"success": success, "result": {"observed_value": observed}}


class ExpectColumnValuesToBeEvenlySpaced(ColumnAggregateExpectation):
    """Expect consecutive timestamps to be exactly `step_seconds` apart (the most common step
    when left out): no gaps, no duplicates, no jitter."""

    step_seconds: float | None = None

    metric_dependencies = ("column.irregular_step_count",)
    success_keys = ("step_seconds",)
    args_keys = ("column", "step_seconds")
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["vigil", "time series"]}

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        measured = metrics.get("column.irregular_step_count") or {}
        irregular = measured.get("irregular")
        return {
            "success": irregular == 0,
            "result": {"observed_value": irregular, "details": measured},
        }
