"""Settings of the learning part of the workflow suite (``suites.workflow.learning``).

Kept apart from :mod:`vigil.scoring.learning`, which needs numpy, pandas and scipy: the
suite registry imports settings models when the configuration loads, and that must stay
fast (``vigil --help``, ``vigil config check``). Only pydantic and the configuration bases.
"""

from __future__ import annotations

from pydantic import Field

from vigil.config_base import SuiteSettings


class LearningPartConfig(SuiteSettings):
    """Settings of the ``learning`` part of the workflow suite (``suites.workflow.learning``).

    The defaults are the development profile's: the whole stream (6,000 rows at 200 rows
    a day) replayed in well under the part's 20 s budget on the reference service.
    """

    concurrency: int = Field(
        default=16, ge=1, le=256, description="Requests in flight at most during the replay."
    )
    request_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="Bound on each /predict and /feedback request."
    )
    time_cap_s: float = Field(
        default=60.0,
        gt=0,
        le=6 * 3600,
        description="Nothing new is sent after this many seconds; unsent rows count as missing.",
    )
    max_rows_per_day: int | None = Field(
        default=None,
        ge=1,
        le=50_000,
        description="Replay at most this many rows of each day, evenly spread; null: all.",
    )
    simulated_seconds_per_second: float | None = Field(
        default=None,
        gt=0,
        le=1e9,
        description="Pace of simulated time (86400 = a day per second); null: as fast as served.",
    )
    confidence: float = Field(
        default=0.95, ge=0.5, le=0.999, description="Confidence level of the improvement CI."
    )
    resamples: int = Field(
        default=2000, ge=100, le=100_000, description="Bootstrap resamples of the improvement CI."
    )
    window_days: int = Field(
        default=7, ge=1, le=180, description="Days at each end compared: last minus first."
    )
    trend_alpha: float = Field(
        default=0.05,
        gt=0,
        le=0.5,
        description="Significance level of the Mann-Kendall test of the daily accuracy.",
    )
    baseline_days: int = Field(
        default=3, ge=1, le=90, description="Days before a drift whose accuracy is its baseline."
    )
    adaptation_tolerance: float = Field(
        default=0.05,
        ge=0,
        le=0.5,
        description="Accuracy below the pre-drift baseline that still counts as recovered.",
    )
    max_adaptation_days: float = Field(
        default=7.0,
        gt=0,
        le=365,
        description="adapts_after_drift passes when every drift is recovered within this.",
    )
    evaluation_tolerance: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Largest accuracy gap between the target's /evaluation and vigil's scoring.",
    )
    evaluation_settle_s: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long to wait for /evaluation to count every accepted label.",
    )
