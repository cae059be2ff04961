"""A population of user groups run at once: several scenarios, one event loop, one step.

A step of the performance suite is made of groups of users (a profile's users doing one kind of
visit). Each group is an ordinary :func:`vigil.load.run_load_async` run with its own profile and
scenario; :func:`run_population` starts them together on one uvloop event loop and returns each
group's :class:`LoadResult`. Give every group's scenario the same name and their results merge
exactly with :func:`vigil.load.merge_results`.

:func:`shard_population` divides a population into the part one of N shards runs (users,
request budget and spawn rate divided as :func:`vigil.load.shards.shard_profile` does), so a
step can be spread over several Prefect task runs or Dask workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import uvloop

from vigil.load.config import LoadProfileConfig
from vigil.load.engine import ProgressCallback, StopSignal, run_load_async
from vigil.load.scenario import (
    LabelledRow,
    Scenario,
    Step,
    predict_feedback_scenario,
    row_source,
)
from vigil.load.shards import shard_profile
from vigil.load.statistics import LoadProgress, LoadResult

PopulationSpec = Mapping[str, tuple[LoadProfileConfig, Scenario]]
"""Groups by name: the traffic profile and the scenario of each."""


def predict_scenario(
    rows: Iterable[LabelledRow] | Callable[[], LabelledRow], *, name: str = "predict"
) -> Scenario:
    """A user who asks for a prediction and thinks: ``POST /predict`` with a row's features."""
    return Scenario(
        name=name,
        next_row=row_source(rows),
        steps=(
            Step(
                name="predict",
                method="POST",
                path="/predict",
                json_body=lambda it: {"features": dict(it.row[0])},
                think_after=True,
            ),
        ),
    )


def evaluation_scenario(*, window: int = 100, name: str = "evaluation") -> Scenario:
    """A user who reads the model's rolling quality and thinks: ``GET /evaluation?window=N``."""
    return Scenario(
        name=name,
        steps=(
            Step(
                name="evaluation",
                method="GET",
                path=f"/evaluation?window={window}",
                think_after=True,
            ),
        ),
    )


def learning_scenario(
    rows: Iterable[LabelledRow] | Callable[[], LabelledRow], *, name: str = "predict_feedback"
) -> Scenario:
    """Predict, think, send the true label, think (the contract's learning loop)."""
    return predict_feedback_scenario(rows, think_after_feedback=True).model_copy(
        update={"name": name}
    )


def shard_population(
    profiles: Mapping[str, LoadProfileConfig], shards: int, index: int
) -> dict[str, LoadProfileConfig]:
    """The groups' profiles that shard `index` of `shards` runs (groups without a user left out).

    Each group's users are divided as :func:`vigil.load.shards.shard_profile` divides them, but
    the shard that gets a group's odd users rotates from group to group, so the shards' users
    differ by one at most and none is empty while there are at least as many users as shards.
    """
    if not 0 <= index < shards:
        raise ValueError(f"shard index {index} is outside 0..{shards - 1}")
    out = {}
    offset = 0
    for name, profile in profiles.items():
        rotated = (index - offset) % shards
        offset += profile.users % shards
        if profile.users // shards + (1 if rotated < profile.users % shards else 0) == 0:
            continue
        out[name] = shard_profile(profile, shards, rotated)
    return out


class _CombinedProgress:
    """Adds up the groups' progress reports into one report per interval."""

    def __init__(self, names: Iterable[str], progress: ProgressCallback) -> None:
        self._names = set(names)
        self._latest: dict[str, LoadProgress] = {}
        self._fresh: set[str] = set()
        self._progress = progress

    def for_group(self, name: str) -> ProgressCallback:
        def report(progress: LoadProgress) -> None:
            self._latest[name] = progress
            self._fresh.add(name)
            # Groups report at the same interval but not at the same instant: wait for all.
            if self._fresh == self._names:
                self._fresh.clear()
                self._emit(progress.elapsed_seconds)

        return report

    def _emit(self, elapsed: float) -> None:
        reports = list(self._latest.values())
        p95s = [r.interval_p95_ms for r in reports if r.interval_p95_ms is not None]
        self._progress(
            LoadProgress(
                elapsed_seconds=elapsed,
                requests=sum(r.requests for r in reports),
                errors=sum(r.errors for r in reports),
                interval_rps=round(sum(r.interval_rps for r in reports), 3),
                # The slowest group's p95 bounds the population's from above.
                interval_p95_ms=max(p95s) if p95s else None,
                active_users=sum(r.active_users for r in reports),
            )
        )


async def run_population_async(
    base_url: str,
    groups: PopulationSpec,
    *,
    stop_event: StopSignal | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, LoadResult]:
    """Run every group at once on the running loop; each group's result by name.

    Args:
        base_url: Origin of the target, e.g. ``http://127.0.0.1:8080``.
        groups: Each group's traffic profile and scenario, by name.
        stop_event: Set it to stop every group within about a second.
        progress: Called about every progress interval with the groups' reports added up.
    """
    if not groups:
        raise ValueError("a population needs at least one group of users")
    combined = _CombinedProgress(groups, progress) if progress is not None else None
    names = list(groups)
    runs: list[Any] = [
        run_load_async(
            base_url,
            profile,
            scenario,
            stop_event=stop_event,
            progress=combined.for_group(name) if combined is not None else None,
        )
        for name, (profile, scenario) in groups.items()
    ]
    results = await asyncio.gather(*runs)
    return dict(zip(names, results, strict=True))


def run_population(
    base_url: str,
    groups: PopulationSpec,
    *,
    stop_event: StopSignal | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, LoadResult]:
    """:func:`run_population_async` on a fresh uvloop event loop (call it from a plain thread)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(
            run_population_async(base_url, groups, stop_event=stop_event, progress=progress)
        )
