"""Which resource reached its limit first, from resource samples."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from vigil.observe.resources import ResourceSample
from vigil.performance.settings import SaturationLimitsConfig


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
