"""Settings of the performance suite: user profiles, request mix, stress ramp, limits."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from vigil.config_base import StrictModel, SuiteSettings
from vigil.load import LatencySloConfig
from vigil.load.config import MAX_USERS
from vigil.observe.resources import ResourceSamplerConfig

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class RequestKind(StrEnum):
    """What one user does in one visit."""

    PREDICT = "predict"
    PREDICT_FEEDBACK = "predict_feedback"
    EVALUATION = "evaluation"


class RequestMixConfig(StrictModel):
    """Shares of a profile's users by what they do (normalised, so they need not sum to 1)."""

    predict: float = Field(default=0.5, ge=0, le=1, description="Predict, then think.")
    predict_feedback: float = Field(
        default=0.4,
        ge=0,
        le=1,
        description="Predict, think, send the true label, think (the learning loop).",
    )
    evaluation: float = Field(
        default=0.1, ge=0, le=1, description="Read GET /evaluation, then think."
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.predict + self.predict_feedback + self.evaluation <= 0:
            raise ValueError("the request mix is all zero; give at least one kind a share above 0")
        return self

    def weights(self) -> dict[RequestKind, float]:
        """The kinds and their shares, summing to 1."""
        raw = {
            RequestKind.PREDICT: self.predict,
            RequestKind.PREDICT_FEEDBACK: self.predict_feedback,
            RequestKind.EVALUATION: self.evaluation,
        }
        total = sum(raw.values())
        return {kind: value / total for kind, value in raw.items()}


class UserProfileConfig(StrictModel):
    """One kind of user: think times, request mix, its share of the population."""

    users: int = Field(
        default=1000,
        ge=1,
        le=MAX_USERS,
        description="Users when this profile runs alone (each_profile_alone).",
    )
    share: float = Field(
        gt=0, le=1, description="Share of the population in the mixed steps (normalised)."
    )
    think_min_seconds: float = Field(ge=0, le=3600, description="Shortest pause between actions.")
    think_max_seconds: float = Field(ge=0, le=3600, description="Longest pause between actions.")
    mix: RequestMixConfig = Field(default_factory=RequestMixConfig)

    @model_validator(mode="after")
    def _think_ordered(self) -> Self:
        if self.think_min_seconds > self.think_max_seconds:
            raise ValueError(
                f"think_min_seconds ({self.think_min_seconds:g}) is above think_max_seconds "
                f"({self.think_max_seconds:g}); swap them"
            )
        return self


def _default_profiles() -> dict[str, UserProfileConfig]:
    return {
        "light": UserProfileConfig(
            share=0.5,
            think_min_seconds=5,
            think_max_seconds=15,
            mix=RequestMixConfig(predict=0.7, predict_feedback=0.2, evaluation=0.1),
        ),
        "moderate": UserProfileConfig(
            share=0.35,
            think_min_seconds=2,
            think_max_seconds=5,
            mix=RequestMixConfig(predict=0.5, predict_feedback=0.4, evaluation=0.1),
        ),
        "heavy": UserProfileConfig(
            share=0.15,
            think_min_seconds=0.5,
            think_max_seconds=2,
            mix=RequestMixConfig(predict=0.3, predict_feedback=0.6, evaluation=0.1),
        ),
    }


class StressConfig(StrictModel):
    """Steps of users above the load step, until the SLO breaks or a bound is reached."""

    enabled: bool = Field(default=True, description="Run the stress ramp.")
    start_users: int = Field(default=1250, ge=1, le=MAX_USERS, description="Users of step 1.")
    step_users: int = Field(default=250, ge=1, le=MAX_USERS, description="Users added per step.")
    max_users: int = Field(default=2000, ge=1, le=MAX_USERS, description="Highest step.")
    step_warmup_seconds: float = Field(
        default=1.0, ge=0, le=3600, description="Unmeasured start of each step (users ramp up)."
    )
    step_seconds: float = Field(default=3.0, gt=0, le=86_400, description="Measured time a step.")
    time_cap_seconds: float = Field(
        default=12.0, gt=0, le=7 * 86_400, description="No new step starts after this long."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start_users > self.max_users:
            raise ValueError(
                f"stress.start_users ({self.start_users}) is above stress.max_users "
                f"({self.max_users}); lower start_users or raise max_users"
            )
        return self

    def user_steps(self) -> list[int]:
        """Users of every step from start to the ceiling."""
        return list(range(self.start_users, self.max_users + 1, self.step_users))


class SaturationLimitsConfig(StrictModel):
    """Readings at which a resource counts as saturated."""

    process_cpu_percent: float = Field(
        default=90.0,
        gt=0,
        le=100,
        description="One target process busier than this share of a core (an event loop or a "
        "GIL-bound worker cannot use more than one core).",
    )
    vigil_cpu_percent: float = Field(
        default=90.0,
        gt=0,
        le=100,
        description="vigil's own process (the load generator) above this: the generator, not "
        "the target, is the bottleneck.",
    )
    host_cpu_share: float = Field(
        default=0.95, gt=0, le=1, description="The whole machine's CPU above this share."
    )
    open_files_share: float = Field(
        default=0.9, gt=0, le=1, description="File descriptors above this share of the limit."
    )
    target_memory_mb: float | None = Field(
        default=None, gt=0, le=10_000_000, description="Target's resident memory above this."
    )


class PerformanceSuiteConfig(SuiteSettings):
    """Settings of the performance suite (``suites.performance``); defaults are development's."""

    profiles: dict[str, UserProfileConfig] = Field(
        default_factory=_default_profiles,
        min_length=1,
        max_length=20,
        description="User profiles by name (lower-case, digits, underscores).",
    )
    load_users: int = Field(
        default=1000,
        ge=1,
        le=MAX_USERS,
        description="Users of the mixed load step, split over the profiles by share.",
    )
    ramp_seconds: float = Field(
        default=15.0, ge=0, le=86_400, description="Time to start every user of a load step."
    )
    steady_seconds: float = Field(
        default=30.0, gt=0, le=7 * 86_400, description="Measured time of a load step after ramp."
    )
    each_profile_alone: bool = Field(
        default=False,
        description="After the mixed step, run every profile alone at its own users.",
    )
    baseline_users: int = Field(default=10, ge=1, le=MAX_USERS, description="Users at baseline.")
    baseline_seconds: float = Field(
        default=3.0, gt=0, le=86_400, description="Measured time of the baseline."
    )
    stress: StressConfig = Field(default_factory=StressConfig)
    p95_budget_seconds: float = Field(
        default=2.0, gt=0, le=600, description="Highest acceptable p95 latency under load."
    )
    max_error_rate: float = Field(
        default=0.01, ge=0, le=1, description="Highest acceptable share of failed requests."
    )
    model_update_budget_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Highest acceptable p95 time from a label being accepted to the model "
        "answering differently.",
    )
    model_update_probes: int = Field(
        default=10, ge=0, le=1000, description="Labels timed by the model-update probe (0: off)."
    )
    model_update_timeout_seconds: float = Field(
        default=10.0, gt=0, le=600, description="How long one probe waits for the model to move."
    )
    model_update_stop_after_timeouts: int = Field(
        default=2,
        ge=1,
        le=1000,
        description="The probe stops after this many labels in a row did not move the model "
        "(any timeout already fails model_update_within_budget).",
    )
    request_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Total time one load request may take."
    )
    keepalive_seconds: float = Field(
        default=25.0,
        ge=0,
        le=3600,
        description="Idle keep-alive of the load's connections (users keep theirs across think "
        "times, as browsers do). Keep it below the target's own idle timeout (the reference "
        "service: 30 s; uvicorn's default: 5 s), or reused connections fail as it closes them.",
    )
    progress_interval_seconds: float = Field(
        default=5.0, ge=0.5, le=3600, description="How often a running step logs its progress."
    )
    resources: ResourceSamplerConfig = Field(default_factory=ResourceSamplerConfig)
    saturation: SaturationLimitsConfig = Field(default_factory=SaturationLimitsConfig)
    shards: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Split each load step into this many shards, each its own Prefect task run.",
    )
    task_runner: Literal["threads", "dask"] = Field(
        default="threads",
        description="Where shards run: Prefect's default thread pool, or a local Dask cluster.",
    )
    dask_workers: int = Field(
        default=2, ge=1, le=64, description="Worker processes of the local Dask cluster."
    )
    seed_offset: int = Field(
        default=0, ge=0, le=2**31, description="Added to the run's seed for the rows and thinks."
    )

    @field_validator("profiles")
    @classmethod
    def _profile_names(cls, profiles: dict[str, UserProfileConfig]) -> dict[str, UserProfileConfig]:
        bad = sorted(name for name in profiles if not _NAME.match(name))
        if bad:
            raise ValueError(
                f"profile names {bad} must be lower-case letters, digits and underscores, "
                "starting with a letter (they become measure names)"
            )
        return profiles

    @property
    def slo(self) -> LatencySloConfig:
        """The SLO a load or stress step must hold."""
        return LatencySloConfig(
            p95_ms=self.p95_budget_seconds * 1000, max_error_rate=self.max_error_rate
        )
