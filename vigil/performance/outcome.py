"""What a step measured, and how it is assembled from shards and scrapes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from vigil.load import LoadResult, merge_results
from vigil.observe.resources import ResourceSample
from vigil.performance.plan import LoadStepPlan
from vigil.performance.target_metrics import (
    MODEL_UPDATE_HISTOGRAM,
    PREDICT_HISTOGRAM,
    PREDICT_LABELS,
    Buckets,
    bucket_delta,
    histogram_buckets,
)


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


def load_window(outcomes: Sequence[StepOutcome]) -> LoadResult | None:
    """Every request of the steady windows of the load steps, merged exactly."""
    merged = [o.merged for o in outcomes if o.plan.phase == "load" and o.parts]
    return merge_results([m for m in merged if m is not None]) if merged else None


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
