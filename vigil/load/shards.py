"""Split one load run over several worker processes and merge their histograms exactly.

One process drives some tens of thousands of requests per second on one core; when the generator
itself becomes the bottleneck (its CPU near 100 %), :func:`run_load_sharded` starts N forked
processes, each running :func:`vigil.load.run_load` with its share of the users, arrival rate
and request budget, and merges their results with :func:`vigil.load.merge_results`.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event as ProcessEvent

from vigil.errors import ConfigError, RunError
from vigil.load.config import LoadModel, LoadProfileConfig, check_target_allowed
from vigil.load.engine import ProgressCallback, StopSignal, run_load
from vigil.load.scenario import Scenario
from vigil.load.statistics import LoadProgress, LoadResult, merge_results

logger = logging.getLogger(__name__)

MAX_SHARDS = 64
_PROGRESS = "progress"
"""Marks a shard's progress report on the results queue (in the place of a failure text)."""
_EXIT_MARGIN_SECONDS = 30.0
"""How long after its duration a shard may take to report before it is terminated."""


def _share(total: int, shards: int, index: int) -> int:
    return total // shards + (1 if index < total % shards else 0)


def shard_profile(profile: LoadProfileConfig, shards: int, index: int) -> LoadProfileConfig:
    """The part of `profile` that shard `index` of `shards` runs (users and rates divided)."""
    fields = profile.model_dump(exclude_unset=True)
    fields["users"] = _share(profile.users, shards, index)
    fields["max_requests"] = _share(profile.max_requests, shards, index)
    if profile.arrival_rate is not None:
        fields["arrival_rate"] = profile.arrival_rate / shards
    if profile.arrival_stages is not None:
        fields["arrival_stages"] = [
            {"target_rate": stage.target_rate / shards, "duration_seconds": stage.duration_seconds}
            for stage in profile.arrival_stages
        ]
    if profile.model is LoadModel.OPEN:
        fields["max_backlog"] = _share(profile.max_backlog, shards, index)
    if profile.spawn_rate is not None:
        fields["spawn_rate"] = profile.spawn_rate / shards
    if profile.connection_limit is not None:
        fields["connection_limit"] = max(1, profile.connection_limit // shards)
    if profile.seed is not None:
        fields["seed"] = profile.seed + index
    return LoadProfileConfig.model_validate(fields)


def _run_shard(
    base_url: str,
    profile: LoadProfileConfig,
    scenario: Scenario,
    stop: ProcessEvent,
    results: multiprocessing.Queue,
    index: int,
    report_progress: bool,
) -> None:
    def progress(report: LoadProgress) -> None:
        results.put((index, report, _PROGRESS))

    try:
        result = run_load(
            base_url,
            profile,
            scenario,
            stop_event=stop,
            progress=progress if report_progress else None,
        )
        results.put((index, result, None))
    except BaseException as exc:  # reported to the parent, which raises it as a RunError
        results.put((index, None, f"{type(exc).__name__}: {exc}"))


def combine_progress(reports: list[LoadProgress]) -> LoadProgress:
    """One progress report from the latest report of each shard.

    Counts and rates are summed; the p95 is the slowest shard's (an upper bound: percentiles of
    separate histograms cannot be added, and the exact merge happens once, at the end).
    """
    p95s = [r.interval_p95_ms for r in reports if r.interval_p95_ms is not None]
    return LoadProgress(
        elapsed_seconds=max(r.elapsed_seconds for r in reports),
        requests=sum(r.requests for r in reports),
        errors=sum(r.errors for r in reports),
        interval_rps=round(sum(r.interval_rps for r in reports), 3),
        interval_p95_ms=max(p95s) if p95s else None,
        active_users=sum(r.active_users for r in reports),
        late_sends=sum(r.late_sends for r in reports),
        dropped_sends=sum(r.dropped_sends for r in reports),
    )


def run_load_sharded(
    base_url: str,
    profile: LoadProfileConfig,
    scenario_for_shard: Callable[[int], Scenario],
    *,
    shards: int,
    stop_event: StopSignal | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Run the load in `shards` forked processes and return their exactly merged result.

    Args:
        base_url: Origin of the target, e.g. ``http://127.0.0.1:8080``.
        profile: The whole run's profile; users, rates and the request budget are divided.
        scenario_for_shard: Builds shard i's scenario in the child, so each shard can draw its
            own rows (a ground-truth stream is not shared between processes).
        shards: Number of worker processes (1..64), at most ``profile.users``.
        stop_event: Set it to stop every shard within about a second.
        progress: Called with :func:`combine_progress` of the shards' latest reports once every
            shard has reported for the interval (``profile.progress_interval_seconds``).

    Raises:
        ConfigError: `shards` is out of range, or the target is not in ``allow_hosts``.
        RunError: a shard failed or did not report in time.
    """
    check_target_allowed(base_url, profile.allow_hosts)
    most = min(MAX_SHARDS, profile.users, profile.max_requests)
    if not 1 <= shards <= most:
        raise ConfigError(
            f"shards ({shards}) must be between 1 and {most} "
            "(at most 64, and not above the number of users or max_requests)"
        )
    # fork, so that the scenario factory (often a closure) reaches the children unpickled.
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    results: multiprocessing.Queue = context.Queue()
    workers = [
        context.Process(
            target=_run_shard,
            args=(
                base_url,
                shard_profile(profile, shards, i),
                scenario_for_shard(i),
                stop,
                results,
                i,
                progress is not None,
            ),
            name=f"vigil-load-shard-{i}",
            daemon=True,
        )
        for i in range(shards)
    ]
    for worker in workers:
        worker.start()
    collected: dict[int, LoadResult] = {}
    failures: list[str] = []
    latest: dict[int, LoadProgress] = {}
    reported: set[int] = set()
    deadline = time.monotonic() + profile.duration_seconds + _EXIT_MARGIN_SECONDS
    try:
        while len(collected) + len(failures) < shards and time.monotonic() < deadline:
            if stop_event is not None and stop_event.is_set():
                stop.set()
            try:
                index, result, failure = results.get(timeout=0.2)
            except queue.Empty:
                continue
            if failure == _PROGRESS:
                latest[index] = result
                reported.add(index)
                if progress is not None and len(reported) == shards:
                    reported.clear()
                    _call_progress(progress, combine_progress(list(latest.values())))
                continue
            if failure is not None:
                failures.append(f"shard {index}: {failure}")
                stop.set()
            else:
                collected[index] = result
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
    if failures:
        raise RunError("load shards failed: " + "; ".join(failures))
    if len(collected) < shards:
        raise RunError(
            f"only {len(collected)} of {shards} load shards reported within "
            f"{profile.duration_seconds + _EXIT_MARGIN_SECONDS:g} s"
        )
    return merge_results([collected[i] for i in range(shards)])


def _call_progress(progress: ProgressCallback, report: LoadProgress) -> None:
    try:
        progress(report)
    except Exception:  # a broken progress display must not end a long run
        logger.exception("the load progress callback raised; the run goes on")
