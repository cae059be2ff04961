"""The data suite: generate the run's synthetic data and hold it to its expectations."""

from __future__ import annotations

from prefect import flow

from tasks.bookkeeping import record_suite_result
from tasks.data import generate_learning_stream, generate_metrics_history, validate_expectations
from vigil.results import Measurement, SuiteResult, utc_now
from vigil.run import RunRef
from vigil.synth.config import DataSuiteConfig


@flow(name="data")
def data(run: RunRef, settings: DataSuiteConfig) -> SuiteResult:
    """Generate the 90-day metrics history and the learning stream; check them with GX.

    The data and its Great Expectations Data Docs are saved in the run's report
    folder. Every expectation becomes a check in the store; if one fails, the
    flow stops with a DataValidationError naming it, so nothing is judged on bad data.

    Args:
        run: The run (its seed, store and report folder).
        settings: Parameters of the metrics history and the learning stream.
    """
    started = utc_now()
    history = generate_metrics_history(settings.metrics, run.seed, run.report_dir)
    timestamps = history.frame["timestamp"]
    reports = [
        validate_expectations(
            history.frame,
            "synthetic_metrics",
            run.report_dir,
            {"resolution_seconds": settings.metrics.resolution_seconds},
            raise_on_failure=False,
        ),
        validate_expectations(
            history.labels_frame(),
            "synthetic_metric_labels",
            run.report_dir,
            {"data_start": timestamps.iloc[0], "data_end": timestamps.iloc[-1]},
            raise_on_failure=False,
        ),
    ]
    stream = generate_learning_stream(settings.learning, run.seed, run.report_dir)

    result = SuiteResult(
        suite="data",
        started_at=started,
        checks=[
            check.model_copy(update={"name": f"{report.suite}:{check.name}"})
            for report in reports
            for check in report.checks
        ],
        measurements=[
            Measurement(name="metrics_samples", value=len(history.frame)),
            Measurement(name="labelled_windows", value=len(history.labels)),
            Measurement(name="learning_rows", value=len(stream.frame)),
        ],
    )
    if result.pass_rate is not None:
        result.measurements.append(
            Measurement(name="expectations_pass_rate", value=result.pass_rate)
        )
    result.finished_at = utc_now()
    record_suite_result(run, result)
    for report in reports:
        report.raise_if_failed()
    return result
