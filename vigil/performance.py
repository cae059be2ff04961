"""The performance suite's logic: user profiles, the population plan, and its judgements.

Pure functions and settings only; the load itself runs in :mod:`vigil.load.population`, the
resource samples come from :mod:`vigil.observe.resources`, and the Prefect steps live in
``tasks/performance.py``.

What the suite does
-------------------

1. **Baseline** -- a few users for a few seconds: latency of an unloaded target, and the
   model-update probe (predict a row, label it against the prediction, poll ``/predict`` on the
   same features until the score moves; see :mod:`vigil.load.model_update`).
2. **Load** -- ``load_users`` (1000) users for ``ramp_seconds`` + ``steady_seconds``, split over
   the user profiles by their ``share``; only the steady window is measured. With
   ``each_profile_alone`` every profile then also runs alone at its own ``users``. The headline
   ``p95_latency_s_at_1000_users`` is the p95 of every request of the steady windows of these
   steps (their HDR histograms added, so the percentile is exact).
3. **Stress** -- steps of ``stress.step_users`` more users above ``stress.start_users``, each
   ``stress.step_warmup_seconds`` + ``stress.step_seconds``, ended at the first step that
   breaks the SLO (p95 or error rate), at ``stress.max_users`` or at ``stress.time_cap_seconds``.
   The saturation point is the last step that held; the resource that saturated first is named
   from the resource samples of the breaking step (:func:`first_saturated_resource`).
4. **Resources** -- the target's process tree, vigil's own process and the machine, sampled
   every second during every step (peak CPU and memory are reported).

User profiles
-------------

A profile is a kind of user of an interactive ML service: how long they think between two
actions and what they do in one visit. The built-in ones (users = 1000 in each):

========  =====  ============  ===================================================
profile   share  think (s)     mix: predict / predict+feedback / evaluation read
========  =====  ============  ===================================================
light     0.50   5 -- 15       0.70 / 0.20 / 0.10 -- browsing users, mostly asking
moderate  0.35   2 -- 5        0.50 / 0.40 / 0.10 -- working users who label answers
heavy     0.15   0.5 -- 2      0.30 / 0.60 / 0.10 -- integrations and power users
========  =====  ============  ===================================================

A ``predict`` user sends ``POST /predict`` and thinks; a ``predict_feedback`` user predicts,
thinks, sends the true label (``POST /feedback``, 202) and thinks; an ``evaluation`` user reads
``GET /evaluation`` and thinks. A target without feedback or evaluation gets predict users in
their place. Within a step each (profile, kind) pair is its own group of users, so latency is
known per profile and per request name.

Development values keep the suite near 70 s on a 2-core machine: 3 s baseline at 10 users, 10
model-update probes, 15 s ramp + 30 s at 1000 users, stress from 1250 users in steps of 250 of
1 s + 3 s, no step started after 12 s (so two steps), plus about 1 s of Prefect and
measurement overhead per step (measured: 72 s against the reference service).

Staging and production run longer and also run every profile alone (``each_profile_alone``):

==========================  ===========================  ============================
setting                     staging                      production
==========================  ===========================  ============================
ramp / steady seconds       30 / 120                     60 / 600
baseline_seconds            30                           60
each_profile_alone          true                         true
stress steps                1250..3000 by 250, 10 + 30   1250..5000 by 250, 15 + 60
stress.time_cap_seconds     600                          1800
model_update_probes         30                           100
==========================  ===========================  ============================

Measures
--------

``p95_latency_s_at_1000_users`` (s; also p50 and p99), ``availability_under_load`` (share of
requests answered without error in the steady windows), ``error_rate`` (share),
``throughput_rps`` (req/s), ``saturation_users`` (users of the last step within the SLO),
``inference_p95_s`` and ``inference_p95_s_<profile>`` (s, vigil's ``/predict`` timing),
``target_inference_p95_s`` (s, the target's own request histogram), ``model_update_p95_s`` (s,
vigil's probe), ``target_model_update_p95_s_under_load`` and, per profile run alone,
``target_model_update_p95_s_<profile>`` (s, the target's ``reference_model_update_seconds``)
and ``target_inference_p95_s_<profile>``, ``breaking_users`` (users of the first step that broke
the SLO, when one did),
``baseline_p95_s`` (s), ``target_cpu_percent_peak`` / ``vigil_cpu_percent_peak`` (%, 100 = one
core) and ``target_rss_mb_peak`` (MB).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Literal, Self

from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.config import Capability
from vigil.config_base import StrictModel, SuiteSettings
from vigil.load import LatencySloConfig, LoadProfileConfig, LoadResult, RequestStats, merge_results
from vigil.load.config import MAX_USERS
from vigil.load.population import (
    PopulationSpec,
    evaluation_scenario,
    learning_scenario,
    predict_scenario,
    shard_population,
)
from vigil.load.saturation import judge_step
from vigil.load.scenario import Scenario, random_labelled_rows
from vigil.load.statistics import merge_request_stats
from vigil.observe.resources import ResourceSample, ResourceSamplerConfig
from vigil.results import CheckResult, Measurement, Severity, Status, utc_now
from vigil.store import LoadEvidence

SUITE = "performance"
LOAD_SCENARIO = "performance"
"""Every group of users runs a scenario of this name, so their results merge exactly."""
PREDICT_HISTOGRAM = "reference_request_duration_seconds"
"""The target's request-duration histogram (the reference service's name)."""
PREDICT_LABELS = {"endpoint": "/predict"}
MODEL_UPDATE_HISTOGRAM = "reference_model_update_seconds"
"""The target's model-update histogram: feedback accepted until the model learned it."""
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


# --- the target's own histograms ---------------------------------------------------------------

Buckets = dict[float, float]
"""Cumulative counts of a Prometheus histogram by upper bound (``inf`` included)."""


def histogram_buckets(
    metrics_text: str, name: str, labels: Mapping[str, str] | None = None
) -> Buckets:
    """The cumulative buckets of histogram `name`, summed over series matching `labels`.

    Args:
        metrics_text: A Prometheus text page (``GET /metrics``).
        name: The histogram's name without ``_bucket``, e.g. ``reference_model_update_seconds``.
        labels: Only series carrying these label values count (e.g. ``{"endpoint": "/predict"}``).

    Raises:
        ValueError: the text is not Prometheus text format.
    """
    wanted = dict(labels or {})
    buckets: Buckets = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name != name:
            continue
        for sample in family.samples:
            if not sample.name.endswith("_bucket"):
                continue
            if any(sample.labels.get(k) != v for k, v in wanted.items()):
                continue
            bound = float(sample.labels["le"])
            buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return dict(sorted(buckets.items()))


def bucket_delta(before: Buckets, after: Buckets) -> Buckets:
    """What a histogram counted between two scrapes (a restart's reset reads as nothing)."""
    return {bound: max(0.0, count - before.get(bound, 0.0)) for bound, count in after.items()}


def bucket_count(buckets: Buckets) -> int:
    """Observations in a bucket set."""
    return round(buckets.get(math.inf, 0.0))


def bucket_quantile(buckets: Buckets, quantile: float) -> float | None:
    """The `quantile` (0..1) interpolated linearly within its bucket, as Prometheus does.

    None when nothing was observed; the highest finite bound when the quantile falls in the
    ``+Inf`` bucket (the figure is then a lower bound).
    """
    total = buckets.get(math.inf, 0.0)
    if total <= 0:
        return None
    rank = quantile * total
    lower, below = 0.0, 0.0
    finite = [b for b in buckets if b != math.inf]
    for bound in sorted(buckets):
        count = buckets[bound]
        if count >= rank:
            if bound == math.inf:
                return max(finite) if finite else None
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return None


# --- the saturated resource --------------------------------------------------------------------


class SaturatedResource(BaseModel):
    """The resource that reached its limit first within a window of samples."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resource: str = Field(
        description="target_process_cpu, vigil_cpu, host_cpu, target_open_files, "
        "target_memory or container_cpu."
    )
    elapsed_seconds: float
    value: float
    limit: float
    detail: str


def _crossings(
    sample: ResourceSample, limits: SaturationLimitsConfig
) -> list[tuple[str, float, float, str]]:
    found = []
    target = sample.target
    if target is not None and target.max_process_cpu_percent >= limits.process_cpu_percent:
        found.append(
            (
                "target_process_cpu",
                target.max_process_cpu_percent,
                limits.process_cpu_percent,
                f"the target's busiest process used {target.max_process_cpu_percent:g} % of a core",
            )
        )
    if target is not None and target.open_files_limit:
        share = target.open_files / target.open_files_limit
        if share >= limits.open_files_share:
            found.append(
                (
                    "target_open_files",
                    share,
                    limits.open_files_share,
                    f"the target held {target.open_files} of {target.open_files_limit} "
                    "file descriptors",
                )
            )
    if target is not None and limits.target_memory_mb is not None:
        megabytes = target.rss_bytes / 2**20
        if megabytes >= limits.target_memory_mb:
            found.append(
                (
                    "target_memory",
                    megabytes,
                    limits.target_memory_mb,
                    f"the target's resident memory reached {megabytes:.0f} MB",
                )
            )
    container = sample.container
    if container is not None and container.cpu_percent is not None:
        cap = limits.host_cpu_share * 100 * sample.host_cpus
        if container.cpu_percent >= cap:
            found.append(
                (
                    "container_cpu",
                    container.cpu_percent,
                    cap,
                    f"the container used {container.cpu_percent:g} % CPU",
                )
            )
    if sample.vigil.max_process_cpu_percent >= limits.vigil_cpu_percent:
        found.append(
            (
                "vigil_cpu",
                sample.vigil.max_process_cpu_percent,
                limits.vigil_cpu_percent,
                f"vigil's own process (the load generator) used "
                f"{sample.vigil.max_process_cpu_percent:g} % of a core",
            )
        )
    host_share = sample.host_cpu_percent / (100.0 * sample.host_cpus)
    if host_share >= limits.host_cpu_share:
        found.append(
            (
                "host_cpu",
                host_share,
                limits.host_cpu_share,
                f"the machine's CPU was {host_share:.0%} busy",
            )
        )
    return found


def first_saturated_resource(
    samples: Sequence[ResourceSample],
    limits: SaturationLimitsConfig,
    *,
    since_seconds: float = 0.0,
) -> SaturatedResource | None:
    """The resource that crossed its limit first at or after `since_seconds`, or None.

    When several cross in the same sample, the target's own resources are named before vigil's
    and the machine's, because a target resource is the one the target's owner can change.

    Args:
        samples: Resource samples in time order.
        limits: The readings at which each resource counts as saturated.
        since_seconds: Ignore samples taken before this (e.g. before the breaking step began).
    """
    for sample in samples:
        if sample.elapsed_seconds < since_seconds:
            continue
        crossings = _crossings(sample, limits)
        if crossings:
            resource, value, limit, detail = crossings[0]
            return SaturatedResource(
                resource=resource,
                elapsed_seconds=sample.elapsed_seconds,
                value=round(value, 4),
                limit=limit,
                detail=f"{detail} at {sample.elapsed_seconds:g} s",
            )
    return None


# --- results of the steps ----------------------------------------------------------------------


class StepOutcome(BaseModel):
    """What one step measured: its groups' results, their merge, the target's histograms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plan: LoadStepPlan
    parts: dict[str, LoadResult] = Field(description="Result of each group, by `profile/kind`.")
    shards: int = Field(default=1, ge=1)
    predict_server_buckets: Buckets = Field(
        default_factory=dict,
        description="The target's /predict request-duration histogram over the step (delta).",
    )
    model_update_buckets: Buckets = Field(
        default_factory=dict, description="The target's model-update histogram over the step."
    )
    resources: list[ResourceSample] = Field(default_factory=list)
    problem: str | None = Field(
        default=None, description="Why the step could not run or be read, if so."
    )

    merged: LoadResult | None = Field(
        default=None, description="Every group's result merged exactly (None when nothing ran)."
    )

    def merged_profile(self, profile: str) -> LoadResult | None:
        """The groups of one profile merged."""
        parts = [r for name, r in self.parts.items() if name.split("/", 1)[0] == profile]
        return merge_results(parts) if parts else None


class ModelUpdateProbeResult(BaseModel):
    """vigil's own timing of labels until the model answered differently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latencies_seconds: list[float] = Field(default_factory=list)
    timeouts: int = Field(default=0, ge=0, description="Labels after which the model never moved.")
    errors: list[str] = Field(default_factory=list)
    server_buckets: Buckets = Field(
        default_factory=dict, description="The target's model-update histogram over the probe."
    )

    @property
    def attempts(self) -> int:
        """Labels sent."""
        return len(self.latencies_seconds) + self.timeouts


def quantile(values: Sequence[float], q: float) -> float | None:
    """The `q` quantile of `values` by the nearest-rank method (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000.0


def load_window(outcomes: Sequence[StepOutcome]) -> LoadResult | None:
    """Every request of the steady windows of the load steps, merged exactly."""
    merged = [o.merged for o in outcomes if o.plan.phase == "load" and o.parts]
    return merge_results([m for m in merged if m is not None]) if merged else None


def judge_p95_within_budget(
    window: LoadResult | None, budget_seconds: float, users: int
) -> CheckResult:
    """`p95_latency_within_budget_at_1000_users`: the steady-window p95 under the budget."""
    name = "p95_latency_within_budget_at_1000_users"
    if window is None or window.overall.count == 0:
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message=f"no request completed in the steady window at {users} users",
        )
    p95 = _seconds(window.overall.latency.p95_ms) or 0.0
    ok = p95 < budget_seconds
    return CheckResult(
        name=name,
        status=Status.PASSED if ok else Status.FAILED,
        message=(
            f"p95 latency {p95:.3f} s at {users} users is "
            f"{'within' if ok else 'over'} the {budget_seconds:g} s budget "
            f"({window.overall.count} requests in {window.measured_seconds:g} s)"
        ),
        measured={"p95_s": p95, "budget_s": budget_seconds, "users": users},
    )


def judge_error_rate(window: LoadResult | None, max_error_rate: float, users: int) -> CheckResult:
    """`error_rate_within_budget`: the share of failed requests under load."""
    name = "error_rate_within_budget"
    if window is None or window.overall.count == 0:
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message=f"no request completed in the steady window at {users} users",
        )
    rate = window.overall.error_rate
    ok = rate <= max_error_rate
    kinds = ", ".join(f"{k} {v}" for k, v in window.overall.errors.items()) or "none"
    return CheckResult(
        name=name,
        status=Status.PASSED if ok else Status.FAILED,
        message=(
            f"error rate {rate:.4f} at {users} users is {'within' if ok else 'over'} the "
            f"{max_error_rate:g} budget ({window.overall.error_count} of "
            f"{window.overall.count} failed: {kinds})"
        ),
        measured={
            "error_rate": rate,
            "budget": max_error_rate,
            "errors": window.overall.error_count,
        },
    )


def judge_baseline(
    outcome: StepOutcome, budget_seconds: float, max_error_rate: float
) -> CheckResult:
    """`baseline_within_slo`: at low load the target already holds the SLO."""
    name = "baseline_within_slo"
    merged = outcome.merged
    if merged is None or merged.overall.count == 0:
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message=outcome.problem or "no request completed at baseline",
        )
    p95 = _seconds(merged.overall.latency.p95_ms) or 0.0
    rate = merged.overall.error_rate
    ok = p95 < budget_seconds and rate <= max_error_rate
    return CheckResult(
        name=name,
        status=Status.PASSED if ok else Status.FAILED,
        message=(
            f"baseline at {outcome.plan.users} users: p95 {p95:.3f} s (budget "
            f"{budget_seconds:g}), error rate {rate:.4f} (budget {max_error_rate:g})"
        ),
        measured={"p95_s": p95, "error_rate": rate},
    )


class StressVerdict(BaseModel):
    """The stress ramp's outcome: where it broke, the last good step, what saturated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: list[tuple[int, bool, str]] = Field(description="(users, within SLO, reason).")
    saturation_users: int | None
    breaking_users: int | None
    saturated: SaturatedResource | None = None
    capped: bool = Field(default=False, description="The time cap ended the ramp.")


def judge_stress_step(outcome: StepOutcome, slo: LatencySloConfig) -> tuple[bool, str]:
    """Whether one stress step held the SLO, and why (as the engine's saturation ramp judges)."""
    merged = outcome.merged
    if merged is None:
        return False, outcome.problem or "the step did not run"
    return judge_step(merged, slo)


def stress_verdict(
    outcomes: Sequence[StepOutcome],
    slo: LatencySloConfig,
    limits: SaturationLimitsConfig,
    *,
    load_users: int,
    load_held: bool,
    capped: bool,
) -> StressVerdict:
    """Where the ramp broke and what saturated first in the breaking step.

    Args:
        outcomes: The stress steps that ran, in order.
        slo: The SLO each step had to hold.
        limits: When a resource counts as saturated.
        load_users: Users of the load step, the last good step when the first stress step broke.
        load_held: Whether the load step held the SLO.
        capped: Whether the time cap stopped the ramp before its ceiling.
    """
    steps = []
    breaking: int | None = None
    held: list[int] = [load_users] if load_held else []
    saturated = None
    for outcome in outcomes:
        within, reason = judge_stress_step(outcome, slo)
        steps.append((outcome.plan.users, within, reason))
        if within:
            held.append(outcome.plan.users)
            continue
        breaking = outcome.plan.users
        saturated = first_saturated_resource(outcome.resources, limits)
        break
    return StressVerdict(
        steps=steps,
        saturation_users=max(held) if held else None,
        breaking_users=breaking,
        saturated=saturated,
        capped=capped,
    )


def judge_stress(verdict: StressVerdict, load_users: int) -> CheckResult:
    """`saturation_above_load_users`: the target took more users than the load step (warn)."""
    name = "saturation_above_load_users"
    if not verdict.steps:
        return CheckResult(
            name=name,
            status=Status.NOT_APPLICABLE,
            severity=Severity.WARN,
            message="the stress ramp did not run",
        )
    resource = (
        f"; first saturated: {verdict.saturated.resource} ({verdict.saturated.detail})"
        if verdict.saturated
        else "; no sampled resource reached its limit"
        if verdict.breaking_users is not None
        else ""
    )
    if verdict.breaking_users is None:
        how = "the time cap" if verdict.capped else "the ceiling"
        message = f"held the SLO up to {verdict.saturation_users} users, stopped by {how}{resource}"
        ok = True
    else:
        last = verdict.saturation_users
        ok = last is not None and last > load_users
        reason = next(r for u, w, r in verdict.steps if u == verdict.breaking_users)
        message = (
            f"broke the SLO at {verdict.breaking_users} users ({reason}); last good step "
            f"{last if last is not None else 'none'}{resource}"
        )
    measured: dict[str, float] = {}
    if verdict.saturation_users is not None:
        measured["saturation_users"] = verdict.saturation_users
    if verdict.breaking_users is not None:
        measured["breaking_users"] = verdict.breaking_users
    return CheckResult(
        name=name,
        status=Status.PASSED if ok else Status.FAILED,
        severity=Severity.WARN,
        message=message,
        measured=measured,
    )


def judge_model_update(probe: ModelUpdateProbeResult | None, budget_seconds: float) -> CheckResult:
    """`model_update_within_budget`: labels change the model's answers quickly enough."""
    name = "model_update_within_budget"
    if probe is None:
        return CheckResult(
            name=name,
            status=Status.NOT_APPLICABLE,
            message="the target cannot take feedback (or the probe is off)",
        )
    if probe.errors and not probe.latencies_seconds:
        return CheckResult(
            name=name, status=Status.ERROR, message="probe failed: " + "; ".join(probe.errors[:3])
        )
    p95 = quantile(probe.latencies_seconds, 0.95)
    if probe.timeouts or p95 is None:
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message=(
                f"after {probe.timeouts} of {probe.attempts} labels the model's answer did not "
                "change within the probe's timeout: the model is not learning from feedback"
            ),
            measured={"timeouts": probe.timeouts, "attempts": probe.attempts},
        )
    ok = p95 <= budget_seconds
    return CheckResult(
        name=name,
        status=Status.PASSED if ok else Status.FAILED,
        message=(
            f"model-update p95 {p95:.3f} s over {probe.attempts} labels is "
            f"{'within' if ok else 'over'} the {budget_seconds:g} s budget"
        ),
        measured={"p95_s": p95, "budget_s": budget_seconds},
    )


def judge_inference(outcomes: Sequence[StepOutcome], budget_seconds: float) -> CheckResult:
    """`inference_p95_within_budget`: `/predict` alone, under load, within the budget."""
    name = "inference_p95_within_budget"
    predict = _predict_window(outcomes)
    if predict is None or predict.count == 0:
        return CheckResult(
            name=name, status=Status.FAILED, message="no prediction completed under load"
        )
    p95 = _seconds(predict.latency.p95_ms) or 0.0
    ok = p95 < budget_seconds
    return CheckResult(
        name=name,
        status=Status.PASSED if ok else Status.FAILED,
        message=(
            f"/predict p95 {p95:.3f} s under load is {'within' if ok else 'over'} the "
            f"{budget_seconds:g} s budget ({predict.count} predictions)"
        ),
        measured={"p95_s": p95, "budget_s": budget_seconds},
    )


def _predict_window(
    outcomes: Sequence[StepOutcome], profile: str | None = None
) -> RequestStats | None:
    """Every `/predict` of the load steps (of one profile, if given), merged exactly."""
    parts = [
        result.requests["predict"]
        for o in outcomes
        if o.plan.phase == "load"
        for name, result in o.parts.items()
        if "predict" in result.requests and (profile is None or name.split("/", 1)[0] == profile)
    ]
    if not parts:
        return None
    measured = max(
        (r.measured_seconds for o in outcomes if o.plan.phase == "load" for r in o.parts.values()),
        default=0.0,
    )
    return merge_request_stats("predict", parts, measured)


def measurements(
    *,
    settings: PerformanceSuiteConfig,
    baseline: StepOutcome | None,
    loads: Sequence[StepOutcome],
    verdict: StressVerdict | None,
    probe: ModelUpdateProbeResult | None,
) -> list[Measurement]:
    """Every figure the suite reports, in seconds, shares, users and requests per second."""
    out: list[Measurement] = []
    window = load_window(loads)
    users = settings.load_users
    context: dict[str, float | str] = {"users": users, "steps": len(loads)}
    if window is not None and window.overall.count:
        latency = window.overall.latency
        for label, value in (
            ("p50", latency.p50_ms),
            ("p95", latency.p95_ms),
            ("p99", latency.p99_ms),
        ):
            if value is not None:
                out.append(
                    Measurement(
                        name=f"{label}_latency_s_at_1000_users",
                        value=value / 1000.0,
                        unit="s",
                        context=context,
                    )
                )
        out += [
            Measurement(
                name="availability_under_load",
                value=1.0 - window.overall.error_rate,
                unit="share",
                context={**context, "requests": window.overall.count},
            ),
            Measurement(
                name="error_rate", value=window.overall.error_rate, unit="share", context=context
            ),
            Measurement(
                name="throughput_rps",
                value=sum(o.merged.overall.throughput_rps for o in loads if o.merged)
                / max(1, len(loads)),
                unit="req/s",
                context=context,
            ),
        ]
    predict = _predict_window(loads)
    if predict is not None and predict.latency.p95_ms is not None:
        out.append(
            Measurement(
                name="inference_p95_s",
                value=predict.latency.p95_ms / 1000.0,
                unit="s",
                context={"source": "vigil", "users": users},
            )
        )
    for profile in settings.profiles:
        stats = _predict_window(loads, profile)
        if stats is not None and stats.latency.p95_ms is not None:
            out.append(
                Measurement(
                    name=f"inference_p95_s_{profile}",
                    value=stats.latency.p95_ms / 1000.0,
                    unit="s",
                    context={"source": "vigil", "profile": profile},
                )
            )
    server_predict: Buckets = {}
    server_update: Buckets = {}
    for outcome in loads:
        for bound, count in outcome.predict_server_buckets.items():
            server_predict[bound] = server_predict.get(bound, 0.0) + count
        for bound, count in outcome.model_update_buckets.items():
            server_update[bound] = server_update.get(bound, 0.0) + count
    value = bucket_quantile(server_predict, 0.95)
    if value is not None:
        out.append(
            Measurement(
                name="target_inference_p95_s",
                value=value,
                unit="s",
                context={"source": "target /metrics", "requests": bucket_count(server_predict)},
            )
        )
    for outcome in loads:
        alone = outcome.plan.profile
        if alone is None:
            continue
        for measure, buckets, counted in (
            ("target_inference_p95_s", outcome.predict_server_buckets, "requests"),
            ("target_model_update_p95_s", outcome.model_update_buckets, "labels"),
        ):
            value = bucket_quantile(buckets, 0.95)
            if value is not None:
                out.append(
                    Measurement(
                        name=f"{measure}_{alone}",
                        value=value,
                        unit="s",
                        context={
                            "source": "target /metrics",
                            "profile": alone,
                            counted: bucket_count(buckets),
                        },
                    )
                )
    value = bucket_quantile(server_update, 0.95)
    if value is not None:
        out.append(
            Measurement(
                name="target_model_update_p95_s_under_load",
                value=value,
                unit="s",
                context={"source": "target /metrics", "labels": bucket_count(server_update)},
            )
        )
    if probe is not None:
        p95 = quantile(probe.latencies_seconds, 0.95)
        if p95 is not None:
            out.append(
                Measurement(
                    name="model_update_p95_s",
                    value=p95,
                    unit="s",
                    context={"source": "vigil probe", "labels": len(probe.latencies_seconds)},
                )
            )
    if (
        baseline is not None
        and baseline.merged is not None
        and baseline.merged.overall.latency.p95_ms
    ):
        out.append(
            Measurement(
                name="baseline_p95_s",
                value=baseline.merged.overall.latency.p95_ms / 1000.0,
                unit="s",
                context={"users": baseline.plan.users},
            )
        )
    if verdict is not None and verdict.steps and verdict.saturation_users is not None:
        stress_context: dict[str, float | str] = {
            "breaking_users": verdict.breaking_users
            if verdict.breaking_users is not None
            else "none",
            "saturated_resource": verdict.saturated.resource if verdict.saturated else "none",
        }
        if verdict.breaking_users is not None:
            out.append(
                Measurement(
                    name="breaking_users",
                    value=verdict.breaking_users,
                    unit="users",
                    context=stress_context,
                )
            )
        out.append(
            Measurement(
                name="saturation_users",
                value=verdict.saturation_users,
                unit="users",
                context=stress_context,
            )
        )
    samples = [s for o in [*([baseline] if baseline else []), *loads] for s in o.resources]
    targets = [s.target for s in samples if s.target is not None]
    if targets:
        out.append(
            Measurement(
                name="target_cpu_percent_peak",
                value=max(t.cpu_percent for t in targets),
                unit="%",
                context={"note": "100 = one core"},
            )
        )
        out.append(
            Measurement(
                name="target_rss_mb_peak",
                value=round(max(t.rss_bytes for t in targets) / 2**20, 1),
                unit="MB",
            )
        )
    if samples:
        out.append(
            Measurement(
                name="vigil_cpu_percent_peak",
                value=max(s.vigil.cpu_percent for s in samples),
                unit="%",
                context={"note": "100 = one core"},
            )
        )
    return out


# --- building and assembling a step ------------------------------------------------------------


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


def merge_shards(shards: Sequence[Mapping[str, LoadResult]]) -> dict[str, LoadResult]:
    """Each group's results of every shard merged exactly, by group name."""
    names = sorted({name for shard in shards for name in shard})
    return {
        name: merge_results([shard[name] for shard in shards if name in shard]) for name in names
    }


def assemble_step(
    plan: LoadStepPlan,
    shard_results: Sequence[Mapping[str, LoadResult]],
    *,
    metrics_before: str | None,
    metrics_after: str | None,
    resources: Sequence[ResourceSample],
    problem: str | None = None,
) -> StepOutcome:
    """One step's outcome from its shards, the target's metrics around it and the samples."""
    predict: Buckets = {}
    update: Buckets = {}
    if metrics_before is not None and metrics_after is not None:
        try:
            predict = bucket_delta(
                histogram_buckets(metrics_before, PREDICT_HISTOGRAM, PREDICT_LABELS),
                histogram_buckets(metrics_after, PREDICT_HISTOGRAM, PREDICT_LABELS),
            )
            update = bucket_delta(
                histogram_buckets(metrics_before, MODEL_UPDATE_HISTOGRAM),
                histogram_buckets(metrics_after, MODEL_UPDATE_HISTOGRAM),
            )
        except ValueError as exc:
            problem = problem or f"the target's /metrics could not be read: {exc}"
    parts = merge_shards(shard_results) if shard_results else {}
    return StepOutcome(
        plan=plan,
        parts=parts,
        merged=merge_results(list(parts.values())) if parts else None,
        shards=max(1, len(shard_results)),
        predict_server_buckets=predict,
        model_update_buckets=update,
        resources=list(resources),
        problem=problem,
    )


def _json_buckets(buckets: Buckets) -> dict[str, float]:
    return {("+Inf" if math.isinf(b) else repr(b)): c for b, c in buckets.items()}


def evidence_of(outcome: StepOutcome, slo: LatencySloConfig) -> LoadEvidence:
    """What the store keeps of one step: summaries, encoded histograms, series, resources."""
    merged = outcome.merged
    within = judge_stress_step(outcome, slo)[0] if merged is not None else None
    summary: dict[str, object] = {"shards": outcome.shards, "problem": outcome.problem}
    histograms: dict[str, object] = {
        "target": {
            "predict_seconds": _json_buckets(outcome.predict_server_buckets),
            "model_update_seconds": _json_buckets(outcome.model_update_buckets),
        }
    }
    series: list[dict[str, object]] = []
    if merged is not None:
        summary.update(
            measured_seconds=merged.measured_seconds,
            cancelled=merged.cancelled,
            requests={
                name: stats.model_dump(mode="json", exclude={"histogram"})
                for name, stats in {"overall": merged.overall, **merged.requests}.items()
            },
            groups={
                name: result.overall.model_dump(mode="json", exclude={"histogram"})
                for name, result in outcome.parts.items()
            },
        )
        histograms.update(
            {"overall": merged.overall.histogram}
            | {name: stats.histogram for name, stats in merged.requests.items()}
        )
        series = [bucket.model_dump(mode="json") for bucket in merged.series]
    started = merged.started_at if merged is not None else utc_now()
    finished = merged.finished_at if merged is not None else started
    return LoadEvidence(
        suite=SUITE,
        step=outcome.plan.name,
        phase=outcome.plan.phase,
        users=outcome.plan.users,
        within_slo=within,
        started_at=started,
        finished_at=finished,
        summary=summary,
        histograms=histograms,
        series=series,
        resources=[sample.model_dump(mode="json") for sample in outcome.resources],
    )


def judge_step_result(result: LoadResult, slo: LatencySloConfig) -> bool:
    """Whether a merged load result holds the SLO."""
    return judge_step(result, slo)[0]
