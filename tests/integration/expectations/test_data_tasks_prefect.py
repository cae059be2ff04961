"""The data tasks in a real Prefect flow run: Parquet in the report, artifacts, stop on failure."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vigil.synth.config import LearningStreamConfig, MetricsHistoryConfig

pytestmark = pytest.mark.integration


def test_tasks_generate_save_and_validate(prefect_harness, tmp_path: Path) -> None:
    from prefect import flow
    from prefect.artifacts import Artifact

    from tasks.data import generate_learning_stream, generate_metrics_history, validate_expectations

    report_dir = tmp_path / "reports" / "run-7"

    @flow(name="synth-data-check")
    def make_and_check() -> dict:
        history = generate_metrics_history(MetricsHistoryConfig(days=7), 7, report_dir)
        stream = generate_learning_stream(
            LearningStreamConfig(days=3, rows_per_day=50), 7, report_dir
        )
        metrics_report = validate_expectations(
            history.frame, "synthetic_metrics", report_dir, {"resolution_seconds": 60}
        )
        broken = history.frame.copy()
        broken.loc[10, "error_rate"] = -1.0
        stopped_by = None
        try:
            validate_expectations(broken, "synthetic_metrics", report_dir)
        except Exception as exc:  # the flow sees exactly what a suite would see
            stopped_by = exc
        return {
            "rows": len(history.frame),
            "stream_rows": len(stream.frame),
            "passed": metrics_report.success,
            "stopped_by": stopped_by,
        }

    outcome = make_and_check()
    assert outcome["passed"]
    from expectations.runner import ExpectationsFailedError
    from vigil.errors import DataValidationError

    error = outcome["stopped_by"]
    assert isinstance(error, ExpectationsFailedError)
    assert isinstance(error, DataValidationError)
    assert "expect_column_values_to_be_between:error_rate" in str(error)
    assert [check.name for check in error.report.failures] == [
        "expect_column_values_to_be_between:error_rate"
    ]

    data = report_dir / "data"
    saved = pd.read_parquet(data / "metrics_history.parquet")
    assert len(saved) == outcome["rows"] == 7 * 1440
    assert str(saved["timestamp"].dt.tz) == "UTC"
    labels = pd.read_parquet(data / "metrics_labels.parquet")
    assert set(labels.columns) == {"metric", "start", "end", "kind"} and len(labels) > 0
    parameters = json.loads((data / "metrics_parameters.json").read_text())
    assert parameters["seed"] == 7 and parameters["config"]["days"] == 7
    assert len(pd.read_parquet(data / "learning_stream.parquet")) == outcome["stream_rows"] == 150
    assert "drifts" in json.loads((data / "learning_parameters.json").read_text())
    assert (report_dir / "data_docs" / "index.html").exists()

    artifact = Artifact.get("expectations-synthetic-metrics")
    assert artifact is not None
    assert "expect_column_values_to_be_between:error_rate" in str(artifact.data)
