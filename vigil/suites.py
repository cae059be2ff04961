"""The suite registry: every validation suite declared once.

A suite is a name, a settings model (``suites.<name>`` in vigil.yaml), the Prefect
flow that runs it -- named by import path, so that the core never imports Prefect --
and the measures it produces, with their units. The configuration (which keys
``suites:`` allows, which ``suite``/``measure`` pairs a criterion may name), the
``validate`` flow (what runs, in which order) and the CLI (``--suite``) all read
:data:`SUITES`; nothing else lists the suites.

Adding a suite is one flow module, one tasks module and one entry here
(``CONTRIBUTING.md`` shows the recipe). Settings modules named here must import
only :mod:`vigil.config_base` and pydantic, never :mod:`vigil.config`, which
builds itself from this registry.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator

from vigil.config_base import SuiteSettings
from vigil.errors import ConfigError
from vigil.results import SuiteResult
from vigil.synth.config import DataSuiteConfig

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class MeasureSpec:
    """A number a suite measures, which criteria may judge."""

    name: str
    unit: str
    description: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"measure name {self.name!r} must be lower_snake_case")


@dataclass(frozen=True)
class SuiteSpec:
    """One validation suite, as the configuration, the validate flow and the CLI see it."""

    name: str
    description: str
    settings: type[SuiteSettings]
    flow: str
    """``module:function`` of the suite's Prefect flow, ``flow(run, settings) -> SuiteResult``."""
    measures: tuple[MeasureSpec, ...] = field(default=())

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"suite name {self.name!r} must be lower_snake_case")
        if not issubclass(self.settings, SuiteSettings):
            raise TypeError(f"suite {self.name!r}: settings must subclass SuiteSettings")
        if not re.fullmatch(r"[\w.]+:\w+", self.flow):
            raise ValueError(f"suite {self.name!r}: flow {self.flow!r} is not 'module:function'")
        names = [m.name for m in self.measures]
        if len(set(names)) != len(names):
            raise ValueError(f"suite {self.name!r} declares a measure twice: {names}")

    def measure(self, name: str) -> MeasureSpec | None:
        """The declared measure called `name`, if any."""
        return next((m for m in self.measures if m.name == name), None)

    def load_flow(self) -> Callable[..., Any]:
        """Import and return the suite's flow (this imports Prefect)."""
        module, function = self.flow.split(":")
        return getattr(importlib.import_module(module), function)


class IntegrationSuiteConfig(SuiteSettings):
    """The integration suite: the target's contract, checked for real."""

    feedback_rounds: int = Field(
        default=50, ge=1, le=100_000, description="Predictions labelled in the feedback round trip."
    )
    request_timeout_s: float = Field(
        default=5.0, gt=0, le=120, description="Timeout of each request the checks send."
    )
    extra_checks: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Checks installed by plugins (the `vigil.checks` entry points) to run too.",
    )

    @field_validator("extra_checks")
    @classmethod
    def _installed(cls, names: list[str]) -> list[str]:
        from vigil.checks import CHECKS_ENTRY_POINT_GROUP, installed_checks

        known = installed_checks()
        for name in names:
            if name not in known:
                hint = _did_you_mean(name, known)
                raise ValueError(
                    f"no check {name!r} is installed{hint} (the {CHECKS_ENTRY_POINT_GROUP} "
                    f"entry points hold: {', '.join(sorted(known)) or 'none'})"
                )
        return names


def _registry(*specs: SuiteSpec) -> dict[str, SuiteSpec]:
    return {spec.name: spec for spec in specs}


SUITES: dict[str, SuiteSpec] = _registry(
    SuiteSpec(
        name="data",
        description="90 days of synthetic metrics and a 30-day learning stream, generated with "
        "known ground truth and checked with Great Expectations.",
        settings=DataSuiteConfig,
        flow="flows.data:data",
        measures=(
            MeasureSpec("metrics_samples", "samples", "Rows of the generated metrics history."),
            MeasureSpec("labelled_windows", "windows", "Labelled anomaly windows generated."),
            MeasureSpec("learning_rows", "rows", "Rows of the generated learning stream."),
            MeasureSpec("expectations_pass_rate", "", "Share of Great Expectations that passed."),
        ),
    ),
    SuiteSpec(
        name="integration",
        description="The target's HTTP contract: health, metrics, predict/feedback/evaluation "
        "loop and bad-input handling, with real requests.",
        settings=IntegrationSuiteConfig,
        flow="flows.integration:integration",
        measures=(MeasureSpec("pass_rate", "", "Share of applicable checks that passed."),),
    ),
)
"""Every suite, in the order ``validate`` runs them."""


def suite_names() -> list[str]:
    """The registered suites' names, in run order."""
    return list(SUITES)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of `known`, or nothing."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def get_suite(name: str) -> SuiteSpec:
    """The suite called `name`.

    Raises:
        ConfigError: no such suite; the message names the close match and the known suites.
    """
    try:
        return SUITES[name]
    except KeyError:
        raise ConfigError(
            f"unknown suite {name!r}{_did_you_mean(name, SUITES)} "
            f"(known suites: {', '.join(SUITES)})"
        ) from None


def check_suite_names(names: Iterable[str]) -> list[str]:
    """Return `names` if every one is a registered suite, else raise ConfigError."""
    chosen = list(names)
    for name in chosen:
        get_suite(name)
    return chosen


def describe_unknown_measure(suite: SuiteSpec, measure: str) -> str:
    """Why `measure` cannot be judged for `suite`: the close match and what it produces."""
    produced = [m.name for m in suite.measures]
    return (
        f"suite {suite.name!r} produces no measure {measure!r}{_did_you_mean(measure, produced)} "
        f"(it produces: {', '.join(produced) or 'none'})"
    )


def conform_measurements(result: SuiteResult) -> SuiteResult:
    """`result` with each measurement's unit taken from the registry.

    Raises:
        ValueError: the suite is not registered or reports a measure it does not declare
            (a bug in the suite: criteria could never find it).
    """
    spec = SUITES.get(result.suite)
    if spec is None:
        raise ValueError(f"suite {result.suite!r} is not in vigil.suites.SUITES")
    conformed = []
    for measurement in result.measurements:
        declared = spec.measure(measurement.name)
        if declared is None:
            raise ValueError(describe_unknown_measure(spec, measurement.name))
        conformed.append(measurement.model_copy(update={"unit": declared.unit}))
    return result.model_copy(update={"measurements": conformed})
