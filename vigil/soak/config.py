"""Settings of the soak: how long, how each cycle is made, and the bounds its trends are judged by.

The defaults are the development profile's (minutes); :func:`soak_settings_for` reads the
staging (hours) and production (72 hours) values, which ``vigil/defaults.yaml`` carries once the
soak is registered. This module imports only pydantic and :mod:`vigil.config_base`, as the
registry requires of settings modules.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from vigil.config_base import StrictModel, SuiteSettings

MAX_SOAK_SECONDS = 14 * 86_400.0
"""Longest soak accepted: two weeks."""


class SoakLoadConfig(StrictModel):
    """The background traffic of every cycle (one bounded ``run_load`` call per cycle)."""

    users: int = Field(
        default=4, ge=1, le=10_000, description="Closed-model virtual users of each cycle's load."
    )
    think_min_s: float = Field(
        default=0.05, ge=0, le=60, description="Shortest pause of a user between iterations."
    )
    think_max_s: float = Field(
        default=0.2, ge=0, le=60, description="Longest pause of a user between iterations."
    )
    max_requests_per_cycle: int = Field(
        default=200_000,
        ge=1,
        le=100_000_000,
        description="Most requests one cycle's load may send (a hard bound besides its time).",
    )
    request_timeout_s: float = Field(
        default=5.0, gt=0, le=120, description="Time one load request may take before it fails."
    )

    @model_validator(mode="after")
    def _think_ordered(self) -> Self:
        if self.think_min_s > self.think_max_s:
            raise ValueError(
                f"think_min_s ({self.think_min_s}) is greater than think_max_s "
                f"({self.think_max_s}); set think_max_s to at least think_min_s"
            )
        return self


class SoakFaultConfig(StrictModel):
    """The periodic fault: a worker hang (SIGSTOP of one worker) every N cycles."""

    every_cycles: int = Field(
        default=2,
        ge=0,
        le=100_000,
        description="Inject the fault in every N-th cycle (cycles N, 2N, ...); 0 turns faults off.",
    )
    delay_s: float = Field(
        default=2.0, ge=0, le=3600, description="Seconds into the cycle's load before injecting."
    )
    max_duration_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="The fault is rolled back after at most this long, even if vigil stalls.",
    )
    settle_s: float = Field(
        default=2.0,
        gt=0,
        le=600,
        description="Probes must stay good this long for the target to count as recovered.",
    )


class SoakBoundsConfig(StrictModel):
    """The levels the soak's trends must not reach before the soak ends."""

    p95_latency_bound_s: float = Field(
        default=1.0, gt=0, le=600, description="p95 latency the trend must not reach (s)."
    )
    target_rss_bound_mb: float = Field(
        default=2048.0,
        gt=0,
        le=1_048_576,
        description="Resident memory of the whole target the trend must not reach (MB).",
    )
    target_disk_bound_mb: float = Field(
        default=20_480.0,
        gt=0,
        le=1_073_741_824,
        description="Size of the target's own folder (database, logs) the trend must not reach "
        "(MB); judged for targets vigil launches.",
    )
    min_availability: float = Field(
        default=0.99,
        ge=0,
        le=1,
        description="Share of good probes over the whole soak, fault windows excluded.",
    )
    horizon_s: float | None = Field(
        default=None,
        gt=0,
        le=365 * 86_400.0,
        description="How far from the soak's start trends are projected; unset means the "
        "soak's planned duration (set it longer to ask 'would this hold for a month?').",
    )
    min_cycles_for_trend: int = Field(
        default=3,
        ge=2,
        le=10_000,
        description="Fewer completed cycles than this cannot show a trend (the check is then "
        "judged on levels only).",
    )


class SoakSuiteConfig(SuiteSettings):
    """The soak: cycles of load, a periodic fault, probes and learning/pattern checks."""

    enabled: bool = Field(
        default=False, description="Run the soak within `validate` (normally run on its own)."
    )
    duration_s: float = Field(
        default=120.0,
        gt=0,
        le=MAX_SOAK_SECONDS,
        description="Planned length of the soak; it runs ceil(duration_s / cycle_s) cycles.",
    )
    cycle_s: float = Field(
        default=15.0,
        ge=5,
        le=86_400,
        description="Length of one cycle's load; the checks and checkpoint follow it.",
    )
    load: SoakLoadConfig = Field(default_factory=SoakLoadConfig, description="Each cycle's load.")
    fault: SoakFaultConfig = Field(default_factory=SoakFaultConfig, description="Periodic fault.")
    bounds: SoakBoundsConfig = Field(
        default_factory=SoakBoundsConfig, description="What the trends are judged against."
    )
    probe_interval_s: float = Field(
        default=0.2, ge=0.01, le=60, description="Time between two probes of the probe stream."
    )
    probe_timeout_s: float = Field(
        default=1.0, gt=0, le=60, description="A probe not answered within this has failed."
    )
    learning_rows: int = Field(
        default=20,
        ge=0,
        le=10_000,
        description="Labelled predictions of each cycle's learning check (0 skips it).",
    )
    pattern_check: bool = Field(
        default=True, description="Send one small synthetic series to /patterns/analyze a cycle."
    )
    request_timeout_s: float = Field(
        default=20.0, gt=0, le=600, description="Timeout of each check request."
    )
    series_fine_span_s: float = Field(
        default=3600.0,
        ge=60,
        le=86_400,
        description="How long the soak's series keep per-second points before folding them "
        "into per-minute ones (a compressed soak may compress this too).",
    )

    @model_validator(mode="after")
    def _fault_fits(self) -> Self:
        if (
            self.fault.every_cycles
            and self.fault.delay_s + self.fault.max_duration_s > self.cycle_s
        ):
            raise ValueError(
                f"the fault starts {self.fault.delay_s:g} s into the cycle and lasts up to "
                f"{self.fault.max_duration_s:g} s, beyond the cycle of {self.cycle_s:g} s; "
                "lengthen cycle_s or shorten fault.delay_s/max_duration_s"
            )
        return self

    @property
    def planned_cycles(self) -> int:
        """How many cycles make the soak."""
        return max(1, -int(-self.duration_s // self.cycle_s))


def soak_settings_for(profile: str, **overrides: Any) -> SoakSuiteConfig:
    """The soak's settings of a built-in profile (development for any other), with overrides.

    Args:
        profile: development, staging or production.
        overrides: Top-level fields to replace (e.g. ``duration_s``).
    """
    from vigil.config import load_config  # the profiles live in vigil/defaults.yaml

    known = profile if profile in ("development", "staging", "production") else "development"
    settings = load_config(None, known, check_secrets=False).suites.soak
    return SoakSuiteConfig.model_validate({**settings.model_dump(), **overrides})
