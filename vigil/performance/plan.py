"""The steps of the suite and the groups of users each runs (a pure plan)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vigil.config_base import Capability
from vigil.load import LoadProfileConfig
from vigil.load.population import (
    PopulationSpec,
    evaluation_scenario,
    learning_scenario,
    predict_scenario,
    shard_population,
)
from vigil.load.scenario import Scenario, random_labelled_rows
from vigil.performance.settings import (
    PerformanceSuiteConfig,
    RequestKind,
    RequestMixConfig,
    UserProfileConfig,
)

SUITE = "performance"
LOAD_SCENARIO = "performance"
"""Every group of users runs a scenario of this name, so their results merge exactly."""


class PopulationPart(BaseModel):
    """One group of users of a step: a profile's users doing one kind of visit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str
    kind: RequestKind
    users: int = Field(ge=1)
    think_min_seconds: float = Field(ge=0)
    think_max_seconds: float = Field(ge=0)

    @property
    def name(self) -> str:
        """``profile/kind``, unique within a step."""
        return f"{self.profile}/{self.kind.value}"


class LoadStepPlan(BaseModel):
    """One step of the suite: who runs, for how long, which part of it is measured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="e.g. `baseline`, `load_1000`, `light_1000`, `stress_1250`.")
    phase: Literal["baseline", "load", "stress"]
    profile: str | None = Field(
        default=None, description="The one profile of the step, when it runs alone."
    )
    users: int = Field(ge=1)
    parts: tuple[PopulationPart, ...] = Field(min_length=1)
    warmup_seconds: float = Field(ge=0)
    measured_seconds: float = Field(gt=0)
    seed: int

    def load_profile(
        self, part: PopulationPart, settings: PerformanceSuiteConfig
    ) -> LoadProfileConfig:
        """The engine profile of one group of users of this step."""
        return LoadProfileConfig(
            users=part.users,
            ramp_seconds=self.warmup_seconds if part.users > 1 else None,
            duration_seconds=self.warmup_seconds + self.measured_seconds,
            warmup_seconds=self.warmup_seconds,
            think_min_seconds=part.think_min_seconds,
            think_max_seconds=part.think_max_seconds,
            request_timeout_seconds=settings.request_timeout_seconds,
            keepalive_seconds=settings.keepalive_seconds,
            stop_grace_seconds=min(settings.request_timeout_seconds, 10.0),
            progress_interval_seconds=settings.progress_interval_seconds,
            # Exact per-slice percentiles across groups would cost a histogram decode and
            # encode per slice and group (seconds per step); a slice's p95 is then the slowest
            # group's, an upper bound. The step's own percentiles stay exact.
            keep_bucket_histograms=False,
            seed=self.seed,
        )


def _split(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Divide `total` by `weights` (largest remainder, so the parts sum to `total`)."""
    whole = sum(weights.values())
    exact = {key: total * value / whole for key, value in weights.items()}
    counts = {key: math.floor(value) for key, value in exact.items()}
    left = total - sum(counts.values())
    for key in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[:left]:
        counts[key] += 1
    return counts


def effective_mix(
    mix: RequestMixConfig, capabilities: Iterable[Capability]
) -> dict[RequestKind, float]:
    """The mix a target can serve: kinds it lacks the capability for become predict users."""
    have = set(capabilities)
    weights = mix.weights()
    served = dict(weights)
    if Capability.FEEDBACK not in have:
        served[RequestKind.PREDICT] += served.pop(RequestKind.PREDICT_FEEDBACK)
    if Capability.EVALUATION not in have:
        served[RequestKind.PREDICT] += served.pop(RequestKind.EVALUATION)
    return {kind: share for kind, share in served.items() if share > 0}


def plan_population(
    profiles: Mapping[str, UserProfileConfig], users: int, capabilities: Iterable[Capability]
) -> tuple[PopulationPart, ...]:
    """Split `users` over the profiles by share, then each profile's users by its mix."""
    capabilities = frozenset(capabilities)
    by_profile = _split(users, {name: p.share for name, p in profiles.items()})
    parts = []
    for name, profile in profiles.items():
        mix = effective_mix(profile.mix, capabilities)
        for kind_name, count in _split(
            by_profile[name], {k.value: v for k, v in mix.items()}
        ).items():
            if count > 0:
                parts.append(
                    PopulationPart(
                        profile=name,
                        kind=RequestKind(kind_name),
                        users=count,
                        think_min_seconds=profile.think_min_seconds,
                        think_max_seconds=profile.think_max_seconds,
                    )
                )
    return tuple(parts)


def plan_steps(
    settings: PerformanceSuiteConfig, capabilities: Iterable[Capability], seed: int
) -> tuple[LoadStepPlan, tuple[LoadStepPlan, ...], tuple[LoadStepPlan, ...]]:
    """The baseline, the load steps and the stress steps the settings ask for.

    Args:
        settings: The suite's settings.
        capabilities: What the target offers (kinds it cannot serve become predict users).
        seed: The run's seed (plus the settings' offset), so every step draws its own rows.
    """
    capabilities = frozenset(capabilities)
    seed += settings.seed_offset
    baseline = LoadStepPlan(
        name="baseline",
        phase="baseline",
        users=settings.baseline_users,
        parts=plan_population(settings.profiles, settings.baseline_users, capabilities),
        warmup_seconds=0.0,
        measured_seconds=settings.baseline_seconds,
        seed=seed,
    )
    loads = [
        LoadStepPlan(
            name=f"load_{settings.load_users}",
            phase="load",
            users=settings.load_users,
            parts=plan_population(settings.profiles, settings.load_users, capabilities),
            warmup_seconds=settings.ramp_seconds,
            measured_seconds=settings.steady_seconds,
            seed=seed + 1,
        )
    ]
    if settings.each_profile_alone:
        for index, (name, profile) in enumerate(settings.profiles.items()):
            loads.append(
                LoadStepPlan(
                    name=f"{name}_{profile.users}",
                    phase="load",
                    profile=name,
                    users=profile.users,
                    parts=plan_population({name: profile}, profile.users, capabilities),
                    warmup_seconds=settings.ramp_seconds,
                    measured_seconds=settings.steady_seconds,
                    seed=seed + 2 + index,
                )
            )
    stress = []
    if settings.stress.enabled:
        for index, users in enumerate(settings.stress.user_steps()):
            stress.append(
                LoadStepPlan(
                    name=f"stress_{users}",
                    phase="stress",
                    users=users,
                    parts=plan_population(settings.profiles, users, capabilities),
                    warmup_seconds=settings.stress.step_warmup_seconds,
                    measured_seconds=settings.stress.step_seconds,
                    seed=seed + 100 + index,
                )
            )
    return baseline, tuple(loads), tuple(stress)


def group_scenario(part: PopulationPart, seed: int) -> Scenario:
    """The scenario one group of users runs (rows drawn from its own seeded stream)."""
    rows = random_labelled_rows(seed=seed)
    if part.kind is RequestKind.PREDICT:
        return predict_scenario(rows, name=LOAD_SCENARIO)
    if part.kind is RequestKind.PREDICT_FEEDBACK:
        return learning_scenario(rows, name=LOAD_SCENARIO)
    return evaluation_scenario(name=LOAD_SCENARIO)


def population_spec(
    plan: LoadStepPlan, settings: PerformanceSuiteConfig, *, shards: int = 1, index: int = 0
) -> PopulationSpec:
    """The groups (profile and scenario) shard `index` of `shards` runs for step `plan`."""
    profiles = {part.name: plan.load_profile(part, settings) for part in plan.parts}
    mine = shard_population(profiles, shards, index) if shards > 1 else profiles
    by_name = {part.name: (number, part) for number, part in enumerate(plan.parts)}
    spec = {}
    for name, profile in mine.items():
        number, part = by_name[name]
        # Every group and shard draws its own rows, so no two users label the same prediction.
        spec[name] = (profile, group_scenario(part, plan.seed * 10_000 + number * 64 + index))
    return spec
