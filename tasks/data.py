"""Steps that make the synthetic data of a run and check it with Great Expectations.

The data of every run is written as Parquet (and its parameters as JSON) under
``<report_dir>/data/`` so any run can be re-examined later; Data Docs go to
``<report_dir>/data_docs/``. Great Expectations is imported only when
:func:`validate_expectations` runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from vigil.synth import learning as synth_learning
from vigil.synth import metrics as synth_metrics
from vigil.synth.config import LearningStreamConfig, MetricsHistoryConfig

if TYPE_CHECKING:
    from expectations.runner import ExpectationReport

DATA_FOLDER = "data"
DOCS_FOLDER = "data_docs"


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


@task(name="generate-metrics-history", cache_policy=NO_CACHE, persist_result=False)
def generate_metrics_history(
    config: MetricsHistoryConfig, seed: int, report_dir: Path
) -> synth_metrics.MetricsHistory:
    """Generate the metrics history and save it, its labels and its parameters in the report.

    Args:
        config: The validated metrics-history configuration.
        seed: The run's seed; the same seed gives the same history.
        report_dir: The run's report folder; files go to its ``data/`` subfolder.
    """
    logger = get_run_logger()
    history = synth_metrics.generate_metrics_history(config, seed)
    folder = Path(report_dir) / DATA_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    history.frame.to_parquet(folder / "metrics_history.parquet", index=False)
    history.labels_frame().to_parquet(folder / "metrics_labels.parquet", index=False)
    _write_json(folder / "metrics_parameters.json", history.parameters)
    logger.info(
        "Generated %d samples x %d metrics over %d days (seed %d) with %d labelled windows; "
        "saved in %s",
        len(history.frame),
        history.frame.shape[1] - 1,
        config.days,
        seed,
        len(history.labels),
        folder,
    )
    return history


@task(name="generate-learning-stream", cache_policy=NO_CACHE, persist_result=False)
def generate_learning_stream(
    config: LearningStreamConfig, seed: int, report_dir: Path
) -> synth_learning.LearningStream:
    """Generate the labelled learning stream and save it and its drifts in the report.

    Args:
        config: The validated learning-stream configuration.
        seed: The run's seed; the same seed gives the same stream.
        report_dir: The run's report folder; files go to its ``data/`` subfolder.
    """
    logger = get_run_logger()
    stream = synth_learning.generate_learning_stream(config, seed)
    folder = Path(report_dir) / DATA_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stream.frame.to_parquet(folder / "learning_stream.parquet", index=False)
    _write_json(
        folder / "learning_parameters.json",
        {**stream.parameters, "drifts": [drift.model_dump(mode="json") for drift in stream.drifts]},
    )
    logger.info(
        "Generated %d labelled rows over %d days (seed %d) with %d drift(s) at day(s) %s; "
        "saved in %s",
        len(stream.frame),
        config.days,
        seed,
        len(stream.drifts),
        ", ".join(f"{drift.day:g} ({drift.kind})" for drift in stream.drifts) or "none",
        folder,
    )
    return stream


@task(name="validate-expectations", cache_policy=NO_CACHE, persist_result=False)
def validate_expectations(
    frame: pd.DataFrame,
    suite_name: str,
    report_dir: Path,
    suite_options: dict[str, Any] | None = None,
    raise_on_failure: bool = True,
) -> ExpectationReport:
    """Validate a frame with a Great Expectations suite; Data Docs go into the report.

    Args:
        frame: The data to check.
        suite_name: ``synthetic_metrics``, ``synthetic_metric_labels`` or
            ``learning_effectiveness``.
        report_dir: The run's report folder; Data Docs go to its ``data_docs/`` subfolder.
        suite_options: Arguments of the suite's builder (e.g. ``resolution_seconds``).
        raise_on_failure: Raise ``ExpectationsFailedError`` (a ``DataValidationError``
            carrying the report) when an expectation fails, so the suite depending on the
            data stops; the error's ``report`` still holds every check for the store.

    Returns:
        One check per expectation and the Data Docs index.
    """
    from expectations.runner import validate_frame

    logger = get_run_logger()
    report = validate_frame(
        frame, suite_name, Path(report_dir) / DOCS_FOLDER, **(suite_options or {})
    )
    failures = report.failures
    create_table_artifact(
        key=f"expectations-{suite_name.replace('_', '-')}",
        table=[
            {"expectation": check.name, "status": check.status.value, "message": check.message}
            for check in report.checks
        ],
        description=(
            f"Great Expectations suite `{suite_name}` on {report.rows} rows: "
            f"{len(report.checks) - len(failures)} of {len(report.checks)} expectations passed. "
            f"Data Docs: `{report.docs_index}`"
        ),
    )
    if failures:
        logger.error(
            "Suite %s failed %d expectation(s): %s",
            suite_name,
            len(failures),
            "; ".join(check.message for check in failures),
        )
    else:
        logger.info("Suite %s passed all %d expectations", suite_name, len(report.checks))
    if raise_on_failure:
        report.raise_if_failed()
    return report
