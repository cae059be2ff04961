"""Settings of the patterns part of the workflow suite (``suites.workflow.patterns``).

Kept apart from :mod:`vigil.scoring.patterns`, which needs numpy and the generator: the
suite registry imports settings models whenever the configuration loads.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vigil.config_base import StrictModel, SuiteSettings
from vigil.synth.config import MetricName

ConfigKey = Literal["workers", "cache_size", "learning_rate"]
"""The keys of the target's ``POST /admin/config``."""


class OptimizationRule(StrictModel):
    """How one kind of recommendation becomes a configuration change, and what it must improve."""

    action: str = Field(
        pattern=r"^[a-z_]{1,64}$",
        description="The recommendation action this rule acts on, e.g. scale_up.",
    )
    target_contains: str = Field(
        default="",
        max_length=128,
        description="Only recommendations whose target metric contains this ('' = any).",
    )
    change: dict[ConfigKey, float] = Field(
        min_length=1,
        description="Added to the target's current /admin/config values (workers: 1 = one more).",
    )
    measure: Literal["p95_latency_ms", "error_rate"] = Field(
        default="p95_latency_ms",
        description="What the recommendation's promised effect is measured on (lower is better).",
    )
    min_improvement: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Relative decrease of the measure, median over rounds, that shows the effect.",
    )


class OptimizationConfig(StrictModel):
    """Pattern -> recommendation -> configuration change -> verified effect."""

    enabled: bool = Field(
        default=False,
        description="Apply the top applicable recommendation and measure its effect (needs admin).",
    )
    rules: list[OptimizationRule] = Field(
        default_factory=lambda: [
            OptimizationRule(action="scale_up", change={"workers": 1}),
        ],
        min_length=1,
        max_length=32,
        description="Recommendation -> /admin/config change; the first rule that matches applies.",
    )
    rounds: int = Field(
        default=3, ge=1, le=20, description="Short load rounds before and after the change each."
    )
    requests_per_round: int = Field(
        default=100, ge=10, le=100_000, description="Sequential /predict requests per round."
    )
    round_timeout_s: float = Field(
        default=20.0, gt=0.0, le=600.0, description="Most seconds one round may take."
    )
    settle_s: float = Field(
        default=3.0, ge=0.0, le=300.0, description="Wait after applying the change (workers start)."
    )


class PatternsPartConfig(SuiteSettings):
    """The ``patterns`` part of the workflow suite (``suites.workflow.patterns``)."""

    metrics: list[MetricName] | None = Field(
        default=None,
        min_length=1,
        max_length=11,
        description="Metrics of the synthetic history sent for analysis; left out: all eleven.",
    )
    sensitivity: Literal["low", "medium", "high"] = Field(
        default="medium", description="The `sensitivity` sent with the analysis request."
    )
    min_pattern_accuracy: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="pattern_accuracy must exceed this for the part to pass.",
    )
    min_window_f1: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Warn when the detection F1 is below this."
    )
    min_recommendation_precision: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="Warn when fewer of the recommendations than this are right.",
    )
    detection_weight: float = Field(
        default=0.4, ge=0.0, le=1.0, description="Weight of the detection F1 in pattern_accuracy."
    )
    seasonality_weight: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Weight of the seasonality accuracy in pattern_accuracy.",
    )
    recommendation_weight: float = Field(
        default=0.4,
        ge=0.0,
        le=1.0,
        description="Weight of the recommendation precision in pattern_accuracy.",
    )
    peak_hour_tolerance_hours: int = Field(
        default=1,
        ge=0,
        le=6,
        description="How many hours a reported daily peak or trough may be off the true one.",
    )
    time_tolerance_minutes: int = Field(
        default=15,
        ge=0,
        le=24 * 60,
        description="How far a report or a recommendation may lie outside the true window.",
    )
    request_timeout_s: float = Field(
        default=60.0,
        gt=0.0,
        le=600.0,
        description="Timeout of the analysis request (90 days of 11 metrics take seconds).",
    )

    optimization: OptimizationConfig = Field(
        default_factory=OptimizationConfig,
        description="Apply the top recommendation to the target and verify its promised effect.",
    )

    @model_validator(mode="after")
    def _some_weight(self) -> PatternsPartConfig:
        if self.detection_weight + self.seasonality_weight + self.recommendation_weight <= 0:
            raise ValueError(
                "detection_weight, seasonality_weight and recommendation_weight are all 0: "
                "pattern_accuracy would weigh nothing; give at least one a positive weight"
            )
        return self
