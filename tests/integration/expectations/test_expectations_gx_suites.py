"""The real Great Expectations engine on generated data and on deliberately corrupted copies.

No mocks: every test runs a suite through GX (ephemeral context, pandas data
source, validation definition) and reads the checks vigil derives from it. One
context is shared by the session because importing GX costs seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigil.errors import DataValidationError
from vigil.results import Status
from vigil.scoring.learning import compute_learning_effectiveness, summarise_daily_quality
from vigil.synth.config import LearningStreamConfig, MetricsHistoryConfig
from vigil.synth.learning import generate_learning_stream
from vigil.synth.metrics import MetricsHistory, generate_metrics_history

pytestmark = pytest.mark.integration

SEED = 90


@pytest.fixture(scope="session")
def gx_context():
    """The process's shared ephemeral GX context (created once)."""
    from expectations.runner import open_validation_context

    return open_validation_context()


@pytest.fixture(scope="module")
def validate(gx_context) -> Callable:
    from expectations.runner import validate_frame

    def run(frame: pd.DataFrame, suite: str, docs_dir: Path | None = None, **options):
        return validate_frame(frame, suite, docs_dir, context=gx_context, **options)

    return run


@pytest.fixture(scope="module")
def history() -> MetricsHistory:
    """A two-week history with the standard scenarios: quick to validate, all kinds present."""
    return generate_metrics_history(MetricsHistoryConfig(days=14), SEED)


@pytest.fixture(scope="module")
def learning_frame() -> pd.DataFrame:
    """Learning outputs of a real online learner run prequentially over a generated stream."""
    from river import linear_model, preprocessing

    stream = generate_learning_stream(LearningStreamConfig(rows_per_day=80), SEED)
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    probabilities = []
    for row in stream.frame.itertuples(index=False):
        x = {name: float(getattr(row, name)) for name in stream.feature_names}
        probabilities.append(model.predict_proba_one(x).get(1, 0.5))
        model.learn_one(x, int(row.label))
    scored = pd.DataFrame(
        {"day": stream.frame["day"], "label": stream.frame["label"], "probability": probabilities}
    )
    daily = summarise_daily_quality(scored)
    return compute_learning_effectiveness(daily, seed=SEED).frame()


def _failed(report) -> set[str]:
    return {check.name for check in report.checks if check.status is not Status.PASSED}


def _span(history: MetricsHistory) -> dict:
    timestamps = history.frame["timestamp"]
    return {
        "data_start": timestamps.iloc[0].to_pydatetime(),
        "data_end": timestamps.iloc[-1].to_pydatetime(),
    }


def test_default_90_day_history_passes_and_data_docs_are_written(validate, tmp_path: Path) -> None:
    full = generate_metrics_history(MetricsHistoryConfig(), SEED)
    docs = tmp_path / "reports" / "run-1" / "data_docs"
    report = validate(full.frame, "synthetic_metrics", docs, resolution_seconds=60)
    assert report.success, [check.message for check in report.failures]
    assert _failed(report) == set()
    report.raise_if_failed()
    names = {check.name for check in report.checks}
    assert "expect_column_autocorrelation_at_lag_to_be_above:request_rate" in names
    assert "expect_column_values_to_be_evenly_spaced:timestamp" in names
    seasonality = next(c for c in report.checks if c.name.startswith("expect_column_autocorr"))
    assert seasonality.measured["observed_value"] > 0.5

    labels = validate(full.labels_frame(), "synthetic_metric_labels", docs, **_span(full))
    assert labels.success, [check.message for check in labels.failures]

    assert report.docs_index == docs.resolve() / "index.html"
    index = report.docs_index.read_text()
    assert "synthetic_metrics" in index and "synthetic_metric_labels" in index
    pages = [page.relative_to(docs) for page in docs.rglob("*.html")]
    assert any(page.parts[:2] == ("validations", "synthetic_metrics") for page in pages)
    assert any(page.parts[:2] == ("validations", "synthetic_metric_labels") for page in pages)
    assert (docs / "expectations" / "synthetic_metrics.html").exists()


def test_two_week_history_passes(validate, history: MetricsHistory) -> None:
    """The baseline of the corruption tests: the uncorrupted frame passes."""
    report = validate(history.frame, "synthetic_metrics")
    assert report.success, [check.message for check in report.failures]


def _with_nulls(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[100:104, "cpu_utilization"] = np.nan
    return frame


def _with_gap(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(index=range(5000, 5030)).reset_index(drop=True)


def _with_negative_rate(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[777, "request_rate"] = -3.0
    return frame


def _with_flat_request_rate(frame: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    mean = frame["request_rate"].mean()
    frame["request_rate"] = mean * (1 + 0.05 * rng.standard_normal(len(frame)))
    return frame


def _with_ratio_above_one(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[3, "error_rate"] = 1.7
    return frame


def _with_float_counts(frame: pd.DataFrame) -> pd.DataFrame:
    frame["queue_depth"] = frame["queue_depth"].astype(float)
    return frame


def _with_duplicate_timestamp(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[10, "timestamp"] = frame.loc[9, "timestamp"]
    return frame


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (_with_nulls, {"expect_column_values_to_not_be_null:cpu_utilization"}),
        (_with_gap, {"expect_column_values_to_be_evenly_spaced:timestamp"}),
        (_with_negative_rate, {"expect_column_values_to_be_between:request_rate"}),
        (
            _with_flat_request_rate,
            {"expect_column_autocorrelation_at_lag_to_be_above:request_rate"},
        ),
        (_with_ratio_above_one, {"expect_column_values_to_be_between:error_rate"}),
        (_with_float_counts, {"expect_column_values_to_be_of_type:queue_depth"}),
        (
            _with_duplicate_timestamp,
            {
                "expect_column_values_to_be_unique:timestamp",
                "expect_column_values_to_be_increasing:timestamp",
                "expect_column_values_to_be_evenly_spaced:timestamp",
            },
        ),
    ],
    ids=[
        "nulls",
        "gap",
        "negative_rate",
        "no_daily_cycle",
        "ratio_above_one",
        "float_counts",
        "duplicate",
    ],
)
def test_each_corruption_fails_the_right_expectation(
    validate, history: MetricsHistory, corrupt, expected: set[str]
) -> None:
    report = validate(corrupt(history.frame.copy()), "synthetic_metrics")
    assert not report.success
    assert _failed(report) == expected
    with pytest.raises(DataValidationError) as caught:
        report.raise_if_failed()
    message = str(caught.value)
    for name in expected:
        assert name in message
    assert caught.value.report is report


def test_failure_message_names_the_observed_value(validate, history: MetricsHistory) -> None:
    report = validate(_with_negative_rate(history.frame.copy()), "synthetic_metrics")
    (check,) = report.failures
    assert check.measured["unexpected_count"] == 1
    assert "1 of 20160 rows unexpected (e.g. -3)" in check.message
    flat = validate(_with_flat_request_rate(history.frame.copy()), "synthetic_metrics")
    (seasonality,) = flat.failures
    observed = seasonality.measured["observed_value"]
    assert abs(observed) < 0.1
    assert f"observed {observed:.6g}" in seasonality.message
    with pytest.raises(DataValidationError, match=r"min_value=0\.3"):
        flat.raise_if_failed()


def test_label_window_outside_the_data_fails(validate, history: MetricsHistory) -> None:
    labels = history.labels_frame()
    assert validate(labels, "synthetic_metric_labels", **_span(history)).success
    late = labels.copy()
    late.loc[0, "end"] = history.frame["timestamp"].iloc[-1] + pd.Timedelta(hours=2)
    assert _failed(validate(late, "synthetic_metric_labels", **_span(history))) == {
        "expect_column_values_to_be_between:end"
    }
    early = labels.copy()
    early.loc[1, "start"] = history.frame["timestamp"].iloc[0] - pd.Timedelta(days=1)
    assert _failed(validate(early, "synthetic_metric_labels", **_span(history))) == {
        "expect_column_values_to_be_between:start"
    }
    # The same labels checked against a shorter span than the one they were made for.
    shorter = {
        **_span(history),
        "data_end": history.frame["timestamp"].iloc[len(history.frame) // 2],
    }
    assert "expect_column_values_to_be_between:end" in _failed(
        validate(labels, "synthetic_metric_labels", **shorter)
    )


def test_label_naming_an_unknown_metric_fails(validate, history: MetricsHistory) -> None:
    labels = history.labels_frame()
    labels.loc[2, "metric"] = "disk_iops"
    report = validate(labels, "synthetic_metric_labels", **_span(history))
    assert _failed(report) == {"expect_column_values_to_be_in_set:metric"}
    assert "disk_iops" in report.failures[0].message


def test_reversed_label_window_fails(validate, history: MetricsHistory) -> None:
    labels = history.labels_frame()
    labels.loc[0, ["start", "end"]] = labels.loc[0, ["end", "start"]].to_numpy()
    labels.loc[0, "end"] = labels.loc[0, "start"] - pd.Timedelta(minutes=5)
    assert _failed(validate(labels, "synthetic_metric_labels", **_span(history))) == {
        "expect_column_pair_values_a_to_be_greater_than_b:end,start"
    }


def test_learning_outputs_pass(validate, learning_frame: pd.DataFrame, tmp_path: Path) -> None:
    assert len(learning_frame) == 30
    report = validate(learning_frame, "learning_effectiveness", tmp_path / "docs", days=30)
    assert report.success, [check.message for check in report.failures]
    assert (tmp_path / "docs" / "index.html").exists()


def test_learning_frame_with_29_rows_fails(validate, learning_frame: pd.DataFrame) -> None:
    short = learning_frame.drop(index=17).reset_index(drop=True)
    report = validate(short, "learning_effectiveness", days=30)
    assert _failed(report) == {"expect_table_row_count_to_equal"}
    assert "observed 29" in report.failures[0].message


def test_learning_frame_with_nan_ci_fails(validate, learning_frame: pd.DataFrame) -> None:
    broken = learning_frame.copy()
    broken["improvement_ci_low"] = np.nan
    failed = _failed(validate(broken, "learning_effectiveness", days=30))
    assert "expect_column_values_to_not_be_null:improvement_ci_low" in failed
    assert all("improvement_ci_low" in name for name in failed)


def test_learning_frame_with_infinite_statistic_fails(
    validate, learning_frame: pd.DataFrame
) -> None:
    broken = learning_frame.copy()
    broken["slope_ci_high"] = np.inf
    assert _failed(validate(broken, "learning_effectiveness", days=30)) == {
        "expect_column_values_to_be_between:slope_ci_high"
    }


def test_unknown_suite_is_a_config_error(validate, history: MetricsHistory) -> None:
    from vigil.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown expectation suite 'metrics'"):
        validate(history.frame, "metrics")


def test_missing_column_fails_the_schema_and_errors_its_checks(
    validate, history: MetricsHistory
) -> None:
    report = validate(history.frame.drop(columns="queue_depth"), "synthetic_metrics")
    statuses = {check.name: check.status for check in report.failures}
    assert statuses["expect_table_columns_to_match_ordered_list"] is Status.FAILED
    assert statuses["expect_column_values_to_not_be_null:queue_depth"] is Status.ERROR
    assert {name for name in statuses if name != "expect_table_columns_to_match_ordered_list"} == {
        "expect_column_values_to_not_be_null:queue_depth",
        "expect_column_values_to_be_between:queue_depth",
        "expect_column_values_to_be_of_type:queue_depth",
    }
    error = next(c for c in report.failures if c.name.endswith("not_be_null:queue_depth"))
    assert 'The column "queue_depth" in BatchData does not exist' in error.message
    with pytest.raises(DataValidationError, match="queue_depth"):
        report.raise_if_failed()
