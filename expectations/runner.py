"""Validate a DataFrame against one of vigil's suites with the real Great Expectations engine.

:func:`validate_frame` runs a suite from :mod:`expectations.suites` through GX
(a pandas data source, a whole-dataframe batch definition and a
``ValidationDefinition`` in an ephemeral context), optionally renders Data
Docs HTML into a folder the caller chooses, and turns every expectation's
outcome into a :class:`vigil.results.CheckResult`.

``import great_expectations`` takes seconds, so this module imports it only
inside its functions; the context is created once per process and shared.
"""

from __future__ import annotations

import hashlib
import math
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from expectations.suites import SUITE_BUILDERS
from vigil.errors import ConfigError, DataValidationError
from vigil.results import CheckResult, Status, utc_now

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.data_context import AbstractDataContext

DATASOURCE_NAME = "vigil"
BATCH_DEFINITION_NAME = "whole_dataframe"
# Keyword arguments that say where an expectation applies or how to report, not what it expects.
_NON_RULE_KWARGS = frozenset(
    {
        "column",
        "column_A",
        "column_B",
        "column_list",
        "batch_id",
        "result_format",
        "catch_exceptions",
    }
)
# GX keeps named suites and validation definitions in the shared context; one run at a time
# replaces them, so concurrent task threads must take turns.
_LOCK = threading.RLock()
_context: AbstractDataContext | None = None


class ExpectationReport(BaseModel):
    """The outcome of one suite on one DataFrame: a check per expectation and the Data Docs."""

    model_config = ConfigDict(frozen=True)

    suite: str = Field(description="Name of the suite that ran.")
    success: bool = Field(description="Whether every expectation passed.")
    checks: list[CheckResult] = Field(description="One check per expectation, in suite order.")
    docs_index: Path | None = Field(
        default=None, description="index.html of the Data Docs built for this run, if asked."
    )
    rows: int = Field(ge=0, description="Rows of the validated frame.")

    @property
    def failures(self) -> list[CheckResult]:
        """The checks that did not pass."""
        return [check for check in self.checks if check.status is not Status.PASSED]

    def raise_if_failed(self) -> None:
        """Raise :class:`ExpectationsFailedError` naming each failed expectation and its value."""
        if self.success and not self.failures:
            return
        raise ExpectationsFailedError(self)


class ExpectationsFailedError(DataValidationError):
    """A suite failed; ``report`` holds every check so the caller can still store them."""

    def __init__(self, report: ExpectationReport) -> None:
        self.report = report
        failures = report.failures
        where = f"; Data Docs: {report.docs_index}" if report.docs_index else ""
        super().__init__(
            f"suite {report.suite!r} failed {len(failures)} of {len(report.checks)} "
            f"expectation(s) on {report.rows} rows: "
            + "; ".join(check.message for check in failures)
            + where
        )

    def __reduce__(self) -> tuple[type[ExpectationsFailedError], tuple[ExpectationReport]]:
        # Rebuild from the report when unpickled (Prefect may serialise a failed task's error).
        return (type(self), (self.report,))


def open_validation_context() -> AbstractDataContext:
    """The process's ephemeral GX context, created on first use with vigil's rules registered."""
    global _context
    with _LOCK:
        if _context is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            # Importing the module registers vigil's metrics and expectations with GX.
            import expectations.time_series  # noqa: F401

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(
                globally=False, metric_calculations=False
            )
            context.config.analytics_enabled = False
            context.data_sources.add_pandas(DATASOURCE_NAME)
            _context = context
        return _context


def validate_frame(
    frame: pd.DataFrame,
    suite_name: str,
    docs_dir: Path | str | None = None,
    *,
    context: AbstractDataContext | None = None,
    **suite_options: Any,
) -> ExpectationReport:
    """Validate `frame` against the suite `suite_name` and report one check per expectation.

    Args:
        frame: The data to validate.
        suite_name: One of ``synthetic_metrics``, ``synthetic_metric_labels``,
            ``learning_effectiveness``.
        docs_dir: Folder to build Data Docs HTML into (e.g. ``reports/<run-id>/data_docs``);
            created if missing; None builds none.
        context: A GX context to use; by default the shared one of this process.
        **suite_options: Arguments of the suite's builder (e.g. ``resolution_seconds``,
            ``days``, ``data_start``/``data_end``).

    Returns:
        The report; it never raises because data failed -- call ``raise_if_failed()``.
    """
    builder = SUITE_BUILDERS.get(suite_name)
    if builder is None:
        raise ConfigError(
            f"unknown expectation suite {suite_name!r}; use one of {', '.join(SUITE_BUILDERS)}"
        )
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    suite = builder(**suite_options)
    with _LOCK:
        context = context or open_validation_context()
        datasource = context.data_sources.get(DATASOURCE_NAME)
        if suite_name in datasource.get_asset_names():
            asset = datasource.get_asset(suite_name)
        else:
            asset = datasource.add_dataframe_asset(suite_name)
        if BATCH_DEFINITION_NAME in [definition.name for definition in asset.batch_definitions]:
            batch_definition = asset.get_batch_definition(BATCH_DEFINITION_NAME)
        else:
            batch_definition = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION_NAME)
        # The suite is rebuilt for each run's parameters; replace the stored one (and the
        # validation definition that refers to it).
        if suite_name in [existing.name for existing in context.validation_definitions.all()]:
            context.validation_definitions.delete(suite_name)
        if suite_name in [existing.name for existing in context.suites.all()]:
            context.suites.delete(suite_name)
        suite = context.suites.add(suite)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite)
        )
        run_id = RunIdentifier(
            run_name=f"{suite_name}-{uuid.uuid4().hex[:12]}", run_time=datetime.now(UTC)
        )
        started = utc_now()
        result = definition.run(
            batch_parameters={"dataframe": frame}, result_format="SUMMARY", run_id=run_id
        )
        finished = utc_now()
        docs_index = _build_docs(context, Path(docs_dir), suite_name, run_id) if docs_dir else None
    # GX evaluates a suite's expectations in one pass and times none of them on its own, so
    # each check carries the real span of the validation it was part of (not the instant the
    # check object was built, which made every JUnit case read 0.000 s).
    checks = [_check_from(outcome, started, finished) for outcome in result.results]
    return ExpectationReport(
        suite=suite_name,
        success=bool(result.success),
        checks=checks,
        docs_index=docs_index,
        rows=len(frame),
    )


def _build_docs(context: AbstractDataContext, docs_dir: Path, suite_name: str, run_id: Any) -> Path:
    """Render this run's validation result and its suite as Data Docs HTML in `docs_dir`."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    docs_dir = docs_dir.resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    site_name = "vigil_" + hashlib.sha1(str(docs_dir).encode()).hexdigest()[:12]
    if site_name not in context.list_data_docs_sites():
        context.add_data_docs_site(
            site_name=site_name,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    result_keys = [
        key
        for key in context.validation_results_store.list_keys()
        if key.run_id.run_name == run_id.run_name
    ]
    context.build_data_docs(
        site_names=[site_name],
        resource_identifiers=[ExpectationSuiteIdentifier(name=suite_name), *result_keys],
    )
    return docs_dir / "index.html"


def _describe(value: Any) -> str:
    """A short printable form of an observed value."""
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _exception_messages(info: Any) -> list[str]:
    """Messages of the exceptions GX caught for one expectation.

    GX reports them either flat (``{"raised_exception": ..., "exception_message": ...}``) or,
    when a metric failed, keyed by the metric's configuration id.
    """
    if not isinstance(info, dict):
        return []
    if "raised_exception" in info:
        return [str(info.get("exception_message"))] if info["raised_exception"] else []
    return sorted({message for nested in info.values() for message in _exception_messages(nested)})


def _check_from(
    outcome: ExpectationValidationResult, started: datetime, finished: datetime
) -> CheckResult:
    """Turn one GX expectation result into a vigil check named `<type>[:<column>]`.

    Args:
        outcome: The expectation's result.
        started: When the validation that evaluated it began.
        finished: When that validation ended.
    """
    configuration = outcome.expectation_config
    kwargs = dict(configuration.kwargs)
    target = kwargs.get("column")
    if target is None and "column_A" in kwargs:
        target = f"{kwargs['column_A']},{kwargs['column_B']}"
    name = f"{configuration.type}:{target}" if target else configuration.type
    rule = ", ".join(
        f"{key}={_describe(value)}" for key, value in kwargs.items() if key not in _NON_RULE_KWARGS
    )
    result = outcome.result or {}
    observed = result.get("observed_value")

    measured: dict[str, float] = {}
    for key in (
        "observed_value",
        "element_count",
        "unexpected_count",
        "unexpected_percent",
        "missing_count",
    ):
        value = result.get(key)
        if isinstance(value, bool):
            value = float(value)
        if isinstance(value, int | float) and math.isfinite(value):
            measured[key] = float(value)
    details = result.get("details")
    if isinstance(details, dict):
        for key, value in details.items():
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                measured[key] = float(value)

    seen: list[str] = []
    if "observed_value" in result:
        seen.append(f"observed {_describe(observed)}")
    if isinstance(details, dict) and details:
        seen.append(", ".join(f"{key}={_describe(value)}" for key, value in details.items()))
    if result.get("unexpected_count"):
        examples = ", ".join(
            _describe(item) for item in (result.get("partial_unexpected_list") or [])[:3]
        )
        seen.append(
            f"{result['unexpected_count']} of {result.get('element_count')} rows unexpected"
            + (f" (e.g. {examples})" if examples else "")
        )
    errors = _exception_messages(outcome.exception_info)
    expectation = f"{name}({rule})" if rule else name
    if errors:
        status = Status.ERROR
        message = f"{expectation} could not be evaluated: {'; '.join(errors)}"
    elif outcome.success:
        status = Status.PASSED
        message = f"{expectation} passed" + (f": {'; '.join(seen)}" if seen else "")
    else:
        status = Status.FAILED
        message = f"{expectation} failed: " + ("; ".join(seen) if seen else "no value observed")
    return CheckResult(
        name=name,
        status=status,
        message=message,
        measured=measured,
        started_at=started,
        finished_at=finished,
    )
