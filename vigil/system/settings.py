"""Settings of the system part of the workflow suite (``suites.workflow.system``).

Kept apart from :mod:`vigil.system.checks`, which imports river and the HTTP client: the
suite registry imports settings models whenever the configuration loads.
"""

from __future__ import annotations

from pydantic import Field

from vigil.config_base import StrictModel, SuiteSettings


class LeakTolerance(StrictModel):
    """How much the target's resources may grow over the sustained stream and still pass."""

    fd_margin: int = Field(
        default=8,
        ge=0,
        le=10_000,
        description="File descriptors the end of the stream may hold above its start.",
    )
    thread_margin: int = Field(
        default=4, ge=0, le=10_000, description="Threads the end may hold above the start."
    )
    rss_slope_mb_per_min: float = Field(
        default=60.0,
        gt=0,
        le=100_000,
        description="Largest regression slope of the target's resident memory (MB per minute).",
    )


class CycleConfig(StrictModel):
    """The full system cycle: traffic, drift, fault, recovery, analysis, adaptation."""

    warmup_rows: int = Field(
        default=80,
        ge=10,
        le=100_000,
        description="Labelled rows of the original concept sent before the drift.",
    )
    probe_rows: int = Field(
        default=60,
        ge=10,
        le=10_000,
        description="Held-out drifted rows vigil scores right after the drift and at the end.",
    )
    adaptation_rows: int = Field(
        default=200,
        ge=10,
        le=100_000,
        description="Labelled drifted rows sent after the fault, for the target to adapt.",
    )
    min_gain: float = Field(
        default=0.02,
        ge=-1,
        le=1,
        description="Accuracy at the end minus right after the drift must exceed this.",
    )
    fault_s: float = Field(
        default=2.0, gt=0, le=600, description="How long the cycle's fault lasts at most."
    )
    recovery_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="How long the target has to be healthy again after the fault.",
    )
    settle_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="How long the target has to count every acknowledged label.",
    )
    chunk_rows: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Rows per point of the accuracy series sent to pattern analysis.",
    )
    min_analysis_points: int = Field(
        default=24,
        ge=1,
        le=200_000,
        description="Fewer points than this are too few to analyse: the analysis is skipped.",
    )


class SystemPartConfig(SuiteSettings):
    """The system part: each component's output reaches the next, and one full cycle."""

    request_timeout_s: float = Field(
        default=5.0, gt=0, le=120, description="Timeout of each request the part sends."
    )
    model_probes: int = Field(
        default=3,
        ge=1,
        le=1000,
        description="Labels whose effect on the model's score vigil looks for.",
    )
    model_probe_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=600,
        description="How long one label has to move the model's score.",
    )
    quality_rows: int = Field(
        default=60,
        ge=1,
        le=100_000,
        description="Labelled rows sent before comparing /evaluation with /metrics.",
    )
    # The gauge's window is its own worker's newest labels (fewer after a restart), which
    # /evaluation can only approximate by its window sizes: 0.05 proved too tight for that.
    quality_tolerance: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Largest accepted difference between the two accuracies.",
    )
    incident_timeout_s: float = Field(
        default=8.0,
        gt=0,
        le=600,
        description="How long the injected error spike has to show in /incidents and /metrics.",
    )
    leak_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="Length of the sustained request stream watched for leaks.",
    )
    leak_max_requests: int = Field(
        default=2000,
        ge=10,
        le=10_000_000,
        description="The stream stops after this many requests, whatever the time.",
    )
    leak_sample_interval_s: float = Field(
        default=0.2, ge=0.05, le=60, description="Time between two resource samples."
    )
    leak: LeakTolerance = Field(
        default_factory=LeakTolerance, description="What growth of the target still passes."
    )
    cycle: CycleConfig = Field(default_factory=CycleConfig, description="The full system cycle.")
