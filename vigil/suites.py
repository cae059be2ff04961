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

from pydantic import Field, create_model, field_validator

from vigil.config_base import SuiteSettings
from vigil.errors import ConfigError
from vigil.faults.config import RecoveryPartConfig
from vigil.performance.settings import PerformanceSuiteConfig
from vigil.readiness.config import ReadinessSuiteConfig
from vigil.results import SuiteResult
from vigil.scoring.learning_settings import LearningPartConfig
from vigil.scoring.patterns_settings import PatternsPartConfig
from vigil.soak import SOAK_MEASURES
from vigil.soak.config import SoakSuiteConfig
from vigil.synth.config import DataSuiteConfig
from vigil.system.settings import SystemPartConfig

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@dataclass(frozen=True)
class MeasureSpec:
    """A number a suite measures, which criteria may judge.

    A name may hold one placeholder for a family of measures named after something the
    user configures, e.g. ``inference_p95_s_{profile}`` for each user profile.
    """

    name: str
    unit: str
    description: str

    def __post_init__(self) -> None:
        if not _NAME.match(_PLACEHOLDER.sub("x", self.name)):
            raise ValueError(f"measure name {self.name!r} must be lower_snake_case")

    def matches(self, name: str) -> bool:
        """Whether `name` is this measure (or a member of its family)."""
        if "{" not in self.name:
            return name == self.name
        pattern = _PLACEHOLDER.sub(
            "[a-z0-9_]+", re.escape(self.name).replace("\\{", "{").replace("\\}", "}")
        )
        return re.fullmatch(pattern, name) is not None


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
        exact = next((m for m in self.measures if m.name == name), None)
        return exact or next((m for m in self.measures if m.matches(name)), None)

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


WORKFLOW_PARTS: dict[str, SuiteSpec] = _registry(
    SuiteSpec(
        name="learning",
        description="30 days of labelled traffic replayed in accelerated time, honouring label "
        "delay; vigil scores every answer and judges the improvement with a confidence interval.",
        settings=LearningPartConfig,
        flow="flows.learning:learning",
        measures=(
            MeasureSpec(
                "learning_improvement_ci_low",
                "accuracy",
                "Lower confidence bound of last-week minus first-week accuracy.",
            ),
            MeasureSpec("learning_improvement", "accuracy", "Last-week minus first-week accuracy."),
            MeasureSpec(
                "learning_improvement_ci_high",
                "accuracy",
                "Upper confidence bound of last-week minus first-week accuracy.",
            ),
            MeasureSpec("learning_trend_p", "", "Mann-Kendall p-value of the daily accuracy."),
            MeasureSpec(
                "learning_adaptation_days",
                "days",
                "Longest time after a known drift until accuracy came back within tolerance.",
            ),
            MeasureSpec(
                "evaluation_gap",
                "accuracy",
                "Difference between the target's /evaluation and vigil's own scoring.",
            ),
        ),
    ),
    SuiteSpec(
        name="patterns",
        description="90 days of synthetic metrics sent to the target's pattern analysis; its "
        "anomaly windows, seasonality and recommendations scored against the known truth.",
        settings=PatternsPartConfig,
        flow="flows.patterns:patterns",
        measures=(
            MeasureSpec(
                "pattern_accuracy",
                "ratio",
                "Weighted mean of detection F1, seasonality accuracy and recommendation precision.",
            ),
            MeasureSpec("pattern_f1", "ratio", "F1 of detected against true anomaly windows."),
            MeasureSpec("pattern_precision", "ratio", "Precision of the detected windows."),
            MeasureSpec("pattern_recall", "ratio", "Recall of the true windows."),
            MeasureSpec(
                "seasonality_accuracy", "ratio", "Daily and weekly peaks found where they are."
            ),
            MeasureSpec("recommendation_precision", "ratio", "Recommendations the truth supports."),
        ),
    ),
    SuiteSpec(
        name="recovery",
        description="Faults of known kind and instant injected in the Chaos Toolkit shape; "
        "detection, diagnosis and recovery timed against that truth (MTTR).",
        settings=RecoveryPartConfig,
        flow="flows.recovery:recovery",
        measures=(
            MeasureSpec(
                "mttr_s",
                "s",
                "Mean time from injection to verified recovery; a fault the system did not "
                "heal by itself counts at the configured cap.",
            ),
            MeasureSpec("mean_time_to_detect_s", "s", "Mean time from injection to detection."),
            MeasureSpec(
                "diagnosis_accuracy", "", "Share of injections diagnosed as the expected kind."
            ),
            MeasureSpec("self_healed_share", "", "Share of injections healed without vigil."),
            MeasureSpec("feedback_lost", "count", "Acknowledged labels missing after recovery."),
        ),
    ),
    SuiteSpec(
        name="system",
        description="Each component's output reaches the next (feedback to model, quality to "
        "evaluation and metrics, incidents, config to health, no leaks) and one full cycle of "
        "traffic, drift, fault and recovery that must end better than it started.",
        settings=SystemPartConfig,
        flow="flows.system:system",
        measures=(
            MeasureSpec(
                "cross_component_pass_rate",
                "share",
                "Share of the applicable cross-component checks that passed.",
            ),
            MeasureSpec(
                "cycle_accuracy_gain",
                "accuracy",
                "Accuracy on the drifted concept at the end of the cycle minus right after the "
                "drift, scored by vigil.",
            ),
            MeasureSpec(
                "cycle_feedback_lost", "count", "Labels acknowledged in the cycle and not counted."
            ),
            MeasureSpec(
                "cycle_recovery_s",
                "s",
                "Time until the target served again after the fault.",
            ),
        ),
    ),
)
"""The parts of the workflow suite, in the order they run: each a flow returning its
checks and measurements (suite ``workflow``) for the workflow flow to merge and record."""


class _WorkflowBase(SuiteSettings):
    def parts_enabled(self) -> list[str]:
        """Names of the enabled parts, in the order they run."""
        return [name for name in WORKFLOW_PARTS if getattr(self, name).enabled]


WorkflowSuiteConfig = create_model(
    "WorkflowSuiteConfig",
    __base__=_WorkflowBase,
    __doc__="The workflow suite (``suites.workflow``): each part's settings under its name.",
    **{
        name: (spec.settings, Field(default_factory=spec.settings, description=spec.description))
        for name, spec in WORKFLOW_PARTS.items()
    },
)


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
    SuiteSpec(
        name="performance",
        description="Load at 1000+ users in the configured user profiles after a baseline, a "
        "stress ramp to the breaking point, the target's resources and learning latencies.",
        settings=PerformanceSuiteConfig,
        flow="flows.performance:performance",
        measures=(
            *(
                MeasureSpec(
                    f"{q}_latency_s_at_1000_users",
                    "s",
                    f"{q} latency of every request in the steady window of the load step.",
                )
                for q in ("p50", "p95", "p99")
            ),
            MeasureSpec(
                "availability_under_load", "share", "Share of requests answered without error."
            ),
            MeasureSpec("error_rate", "share", "Share of requests that failed under load."),
            MeasureSpec("throughput_rps", "req/s", "Requests answered per second under load."),
            MeasureSpec("inference_p95_s", "s", "p95 of /predict as vigil timed it."),
            MeasureSpec("inference_p95_s_{profile}", "s", "p95 of /predict, one user profile."),
            MeasureSpec(
                "target_inference_p95_s", "s", "p95 of /predict from the target's /metrics."
            ),
            MeasureSpec(
                "target_inference_p95_s_{profile}", "s", "The same, one profile run alone."
            ),
            MeasureSpec(
                "target_model_update_p95_s_{profile}",
                "s",
                "p95 of feedback-to-learned from the target's /metrics, one profile run alone.",
            ),
            MeasureSpec(
                "target_model_update_p95_s_under_load",
                "s",
                "p95 of feedback-to-learned from the target's /metrics under load.",
            ),
            MeasureSpec(
                "model_update_p95_s", "s", "p95 of feedback until vigil saw the model move."
            ),
            MeasureSpec("baseline_p95_s", "s", "p95 latency at the low-load baseline."),
            MeasureSpec("breaking_users", "users", "First stress step that broke the SLO."),
            MeasureSpec("saturation_users", "users", "Last stress step within the SLO."),
            MeasureSpec("target_cpu_percent_peak", "%", "Highest CPU of the target's tree."),
            MeasureSpec("target_rss_mb_peak", "MB", "Highest resident memory of the target."),
            MeasureSpec("vigil_cpu_percent_peak", "%", "Highest CPU of vigil's own process."),
        ),
    ),
    SuiteSpec(
        name="workflow",
        description="The system's intelligence end to end: "
        + "; ".join(part.description for part in WORKFLOW_PARTS.values()),
        settings=WorkflowSuiteConfig,
        flow="flows.workflow:workflow",
        measures=tuple(m for part in WORKFLOW_PARTS.values() for m in part.measures),
    ),
    SuiteSpec(
        name="readiness",
        description="Production readiness proven by drills under a steady probe stream: deploy "
        "and roll back, backup and restore, security, alerting.",
        settings=ReadinessSuiteConfig,
        flow="flows.readiness:readiness",
        measures=(
            MeasureSpec(
                "availability",
                "",
                "Share of probes answered correctly over the suite, injected-fault windows "
                "excluded.",
            ),
            *(
                spec
                for prefix, what in (("", "model"), ("version_", "target version"))
                for spec in (
                    MeasureSpec(
                        f"{prefix}deploy_failed_requests",
                        "requests",
                        f"Probes that failed while a {what} was deployed.",
                    ),
                    MeasureSpec(
                        f"{prefix}deploy_seconds", "s", f"Time until a {what} deploy was healthy."
                    ),
                    MeasureSpec(
                        f"{prefix}rollback_seconds",
                        "s",
                        f"Time to roll a broken {what} back to the previous one.",
                    ),
                )
            ),
            MeasureSpec("rto_s", "s", "Recovery time objective met: restore until serving."),
            MeasureSpec(
                "rpo_s", "s", "Data written after the backup that the restore lost (time)."
            ),
            MeasureSpec(
                "rpo_feedback_lost", "labels", "Labels acknowledged and lost by a restore."
            ),
            MeasureSpec("security_findings", "findings", "Security problems the drills found."),
            MeasureSpec("alert_fire_s", "s", "Time from the fault until its alert fired."),
            MeasureSpec("alert_resolve_s", "s", "Time from recovery until the alert resolved."),
        ),
    ),
    SuiteSpec(
        name="soak",
        description="Cycles of load, a periodic fault, probes and learning and pattern checks "
        "for hours (72 in production), checkpointed and resumable; trends judged, not levels. "
        "Off by default: `vigil soak` and the weekly soak deployment run it.",
        settings=SoakSuiteConfig,
        flow="flows.soak:soak",
        measures=tuple(MeasureSpec(n, u, d) for n, u, d in SOAK_MEASURES),
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
