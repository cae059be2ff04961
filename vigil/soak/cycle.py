"""One soak cycle: bounded load, the periodic fault, the probe stream, and what they measured.

Each cycle's load is its own :func:`vigil.load.run_load` call, bounded in time and requests,
with per-bucket histograms off: everything a cycle keeps afterwards is its
:class:`CycleFigures` (a few dozen numbers), its overall latency histogram (encoded, a few
kilobytes) and a per-second summary of its probes and latency for the soak's tiered series.
The load result itself, the probe samples and the series buckets are dropped with the cycle,
so the soak's memory does not grow with its length.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import psutil
from pydantic import BaseModel, ConfigDict, Field

from vigil.contract import labelled_rows, run_round_trip
from vigil.errors import RunError
from vigil.load import LoadProfileConfig, LoadResult, predict_feedback_scenario, run_load
from vigil.load.scenario import random_labelled_rows
from vigil.observe.probes import ProbeConfig, ProbeSample, ProbeStream, probing
from vigil.results import utc_now
from vigil.scoring.availability import availability, recovered_at
from vigil.soak.config import SoakSuiteConfig
from vigil.soak.faults import CycleFault, FaultHandle, FaultJournal
from vigil.targets.base import TargetEndpoint, running_target
from vigil.targets.client import TargetClient

_RECOVERY_WAIT_S = 30.0
"""After the load, how much longer the probes may run for a fault's recovery to settle."""
_LOAD_JOIN_MARGIN_S = 60.0
"""The load thread must be done this long after its own bound, or the cycle errs."""


class CycleTraffic(BaseModel):
    """What a cycle's load, probes and fault measured."""

    model_config = ConfigDict(frozen=True)

    started_at: datetime
    finished_at: datetime
    requests: int = Field(ge=0)
    errors: int = Field(ge=0)
    throughput_rps: float = Field(ge=0)
    p50_s: float | None = None
    p95_s: float | None = None
    p99_s: float | None = None
    histogram: str = Field(description="Encoded HDR histogram (µs) of every load request.")
    probes: int = Field(ge=0, description="Probes counted for availability (fault excluded).")
    probes_good: int = Field(ge=0)
    fault_kind: str | None = None
    fault_injected_at: datetime | None = None
    fault_recovered_at: datetime | None = None
    mttr_s: float | None = None
    fault_reverted: bool | None = None
    fault_problem: str | None = Field(
        default=None, description="Why the due fault was not injected."
    )
    per_second: dict[str, list[tuple[float, float]]] = Field(
        default_factory=dict,
        description="(epoch seconds, value) points of probe_ok and load_p95_s, one per second.",
    )


@dataclass
class CycleFaultPlan:
    """The fault of a cycle, when it starts, and where its handle goes once injected."""

    fault: CycleFault
    delay_s: float
    hold_s: float
    settle_s: float
    journal: FaultJournal
    on_reverted: Callable[[], None] | None = None
    handle: FaultHandle | None = field(default=None, init=False)


def cycle_load_profile(settings: SoakSuiteConfig, seed: int) -> LoadProfileConfig:
    """The bounded load profile of one cycle."""
    load = settings.load
    return LoadProfileConfig(
        users=load.users,
        duration_seconds=settings.cycle_s,
        max_requests=load.max_requests_per_cycle,
        think_min_seconds=load.think_min_s,
        think_max_seconds=load.think_max_s,
        request_timeout_seconds=load.request_timeout_s,
        bucket_seconds=1.0,
        keep_bucket_histograms=False,
        progress_interval_seconds=min(3600.0, settings.cycle_s),
        seed=seed,
    )


def _probe_config(settings: SoakSuiteConfig) -> ProbeConfig:
    span = settings.cycle_s + _RECOVERY_WAIT_S + 30.0
    return ProbeConfig(
        interval_s=settings.probe_interval_s,
        timeout_s=settings.probe_timeout_s,
        max_duration_s=span,
        max_samples=max(100, int(span / settings.probe_interval_s) + 10),
    )


def drive_cycle(
    endpoint: TargetEndpoint, settings: SoakSuiteConfig, seed: int, plan: CycleFaultPlan | None
) -> CycleTraffic:
    """Run one cycle's load with probes, inject and roll back its fault, summarise it.

    The fault is rolled back in ``finally`` whatever happens (and by its own watchdog if this
    thread stalls).

    Args:
        endpoint: The started target.
        settings: The soak's settings.
        seed: Seed of this cycle's load rows and think times.
        plan: The cycle's fault, or None for a cycle without one.
    """
    started = utc_now()
    profile = cycle_load_profile(settings, seed)
    scenario = predict_feedback_scenario(random_labelled_rows(seed=seed))
    box: dict[str, LoadResult | BaseException] = {}

    def _load() -> None:
        try:
            box["result"] = run_load(endpoint.base_url, profile, scenario)
        except BaseException as exc:  # handed to the cycle's thread, which re-raises it
            box["error"] = exc

    stop = threading.Event()
    with probing(endpoint, _probe_config(settings)) as probes:
        loader = threading.Thread(target=_load, name="vigil-soak-load", daemon=True)
        loader.start()
        injected_at = None
        reverted = None
        fault_problem = None
        try:
            if plan is not None and not stop.wait(plan.delay_s):
                try:
                    plan.handle = plan.fault.inject(plan.journal)
                except RunError as exc:
                    # A fault that cannot be injected this cycle is reported, not fatal: a
                    # 72-hour soak must not end because one worker was restarting.
                    fault_problem = f"{plan.fault.kind} could not be injected: {exc}"
                else:
                    injected_at = plan.handle.fault.started_at
                    stop.wait(plan.hold_s)
        finally:
            if plan is not None and plan.handle is not None:
                plan.handle.rollback()
                reverted = True
                if plan.on_reverted is not None:
                    plan.on_reverted()
        loader.join(timeout=settings.cycle_s + _LOAD_JOIN_MARGIN_S)
        recovered = None
        if injected_at is not None:
            recovered = _wait_for_recovery(probes, injected_at, plan.settle_s)  # type: ignore[union-attr]
        samples = probes.samples()
    if loader.is_alive():
        raise RunError(
            f"the cycle's load did not end within {settings.cycle_s + _LOAD_JOIN_MARGIN_S:g} s "
            "of its start; the load engine is stuck"
        )
    if "error" in box:
        error = box["error"]
        raise RunError(f"the cycle's load failed: {error!r}") from error  # type: ignore[misc]
    result = box["result"]
    assert isinstance(result, LoadResult)
    summary = summarise_cycle(
        started, result, samples, injected_at, recovered, plan, reverted, utc_now()
    )
    return summary.model_copy(update={"fault_problem": fault_problem})


def _wait_for_recovery(
    probes: ProbeStream, injected_at: datetime, settle_s: float
) -> datetime | None:
    """Keep probing until the target held good for `settle_s` after the fault, or give up."""
    deadline = utc_now() + timedelta(seconds=_RECOVERY_WAIT_S + settle_s)
    gate = threading.Event()
    while True:
        moment = recovered_at(probes.samples(since=injected_at), injected_at, settle_s)
        if moment is not None or utc_now() >= deadline:
            return moment
        gate.wait(0.25)


def summarise_cycle(
    started: datetime,
    result: LoadResult,
    samples: list[ProbeSample],
    injected_at: datetime | None,
    recovered: datetime | None,
    plan: CycleFaultPlan | None,
    reverted: bool | None,
    finished: datetime,
) -> CycleTraffic:
    """The cycle's figures from its load result and probe samples (pure)."""
    overall = result.overall
    window_end = recovered or (samples[-1].sent_at if samples else finished)
    excluded = [(injected_at, window_end)] if injected_at is not None else []
    avail = availability(samples, excluded)
    per_second: dict[str, list[tuple[float, float]]] = {"probe_ok": [], "load_p95_s": []}
    seconds: dict[int, list[int]] = {}
    for sample in samples:
        seconds.setdefault(int(sample.sent_at.timestamp()), []).append(int(sample.ok))
    per_second["probe_ok"] = [(float(s), sum(v) / len(v)) for s, v in sorted(seconds.items())]
    origin = result.started_at.timestamp()
    per_second["load_p95_s"] = [
        (origin + bucket.start_seconds, bucket.p95_ms / 1000.0)
        for bucket in result.series
        if bucket.p95_ms is not None
    ]
    latency = overall.latency
    return CycleTraffic(
        started_at=started,
        finished_at=finished,
        requests=overall.count,
        errors=overall.error_count,
        throughput_rps=overall.throughput_rps,
        p50_s=None if latency.p50_ms is None else latency.p50_ms / 1000.0,
        p95_s=None if latency.p95_ms is None else latency.p95_ms / 1000.0,
        p99_s=None if latency.p99_ms is None else latency.p99_ms / 1000.0,
        histogram=overall.histogram,
        probes=avail.probes,
        probes_good=avail.good,
        fault_kind=plan.fault.kind if plan is not None and injected_at is not None else None,
        fault_injected_at=injected_at,
        fault_recovered_at=recovered,
        mttr_s=(recovered - injected_at).total_seconds() if injected_at and recovered else None,
        fault_reverted=reverted,
        per_second=per_second,
    )


class QualityCheck(BaseModel):
    """A cycle's learning check: labelled predictions counted, and the model's quality."""

    model_config = ConfigDict(frozen=True)

    labelled: int = Field(ge=0, description="Labels the target accepted.")
    counted: int | None = Field(description="How much /evaluation's count grew (None: unread).")
    accuracy: float | None = Field(description="Rolling accuracy reported by /evaluation.")
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Every label was accepted and counted."""
        return self.problem is None


def check_learning(
    endpoint: TargetEndpoint, rows: int, seed: int, timeout_s: float
) -> QualityCheck:
    """Predict `rows` labelled rows, label them, and read the evaluation before and after.

    Args:
        endpoint: The started target.
        rows: How many labelled predictions.
        seed: Seed of the rows.
        timeout_s: Timeout of each request.
    """
    with TargetClient(endpoint, timeout_s=timeout_s) as client:
        trip = run_round_trip(client, labelled_rows(seed, rows))
        accuracy = None
        try:
            accuracy = client.evaluation(window=max(rows, 1)).window.accuracy
        except RunError as exc:
            trip.evaluation_error = trip.evaluation_error or str(exc)
    labelled = len(trip.predictions) - len(trip.feedback_errors)
    counted = (
        trip.count_after - trip.count_before
        if trip.count_after is not None and trip.count_before is not None
        else None
    )
    problems = [*trip.predict_errors[:1], *trip.feedback_errors[:1]]
    if trip.evaluation_error:
        problems.append(trip.evaluation_error)
    elif counted is not None and counted < labelled:
        problems.append(f"/evaluation counted {counted} of {labelled} accepted labels")
    return QualityCheck(
        labelled=labelled, counted=counted, accuracy=accuracy, problem="; ".join(problems) or None
    )


PATTERN_POINTS = 240
PATTERN_SPIKE_INDEX = 180


def pattern_request(cycle: int) -> dict[str, object]:
    """A small synthetic series with one spike at a known instant (pure)."""
    values = [20.0 + ((i * 7 + cycle) % 5) * 0.2 for i in range(PATTERN_POINTS)]
    values[PATTERN_SPIKE_INDEX] = 95.0
    return {
        "start": "2026-01-01T00:00:00Z",
        "step_seconds": 60,
        "series": {"soak_latency": values},
    }


def check_patterns(endpoint: TargetEndpoint, cycle: int, timeout_s: float) -> str | None:
    """Send the cycle's synthetic series to /patterns/analyze; None if the spike was found.

    Returns:
        None when an anomaly covering the spike was reported, else what went wrong.
    """
    spike = datetime(2026, 1, 1, tzinfo=utc_now().tzinfo) + timedelta(minutes=PATTERN_SPIKE_INDEX)
    with TargetClient(endpoint, timeout_s=timeout_s) as client:
        try:
            response = client.request("POST", "/patterns/analyze", json=pattern_request(cycle))
        except RunError as exc:
            return str(exc)
    if response.status_code != 200:
        return f"/patterns/analyze answered {response.status_code}: {response.text[:200]}"
    try:
        anomalies = response.json().get("anomalies", [])
        for anomaly in anomalies:
            start = datetime.fromisoformat(anomaly["start"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(anomaly["end"].replace("Z", "+00:00"))
            if start <= spike <= end:
                return None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"/patterns/analyze answered an unreadable body: {exc!r}"
    return (
        f"/patterns/analyze reported {len(anomalies)} anomalies, none covering the spike at "
        f"{spike:%H:%M}Z"
    )


class ResourceSample(BaseModel):
    """Resident memory and open files of a set of processes, at one instant."""

    model_config = ConfigDict(frozen=True)

    rss_mb: float | None
    open_files: int | None
    processes: int
    disk_mb: float | None = Field(
        default=None, description="Size of the target's own folder (data, logs), when it has one."
    )


def sample_processes(processes: list[psutil.Process]) -> ResourceSample:
    """Sum RSS and open file descriptors over `processes` (those that vanished are skipped)."""
    rss = 0
    fds = 0
    alive = 0
    for process in processes:
        try:
            with process.oneshot():
                rss += process.memory_info().rss
                fds += process.num_fds()
            alive += 1
        except psutil.Error:
            continue
    if not alive:
        return ResourceSample(rss_mb=None, open_files=None, processes=0)
    return ResourceSample(rss_mb=rss / 2**20, open_files=fds, processes=alive)


def sample_target(endpoint: TargetEndpoint) -> ResourceSample:
    """RSS and open files of the target's whole process tree (none for a target without one)."""
    try:
        target = running_target(endpoint)
        processes = target.processes()  # type: ignore[attr-defined]
    except (RunError, AttributeError):
        return ResourceSample(rss_mb=None, open_files=None, processes=0)
    sample = sample_processes(processes)
    workdir = getattr(target, "workdir", None)
    if isinstance(workdir, Path):
        sample = sample.model_copy(update={"disk_mb": folder_size_bytes(workdir) / 2**20})
    return sample


def resources_unseen(endpoint: TargetEndpoint) -> str | None:
    """Why vigil cannot sample the target's processes, or None when it can."""
    try:
        target = running_target(endpoint)
    except RunError as exc:
        return str(exc)
    if not callable(getattr(target, "processes", None)):
        return f"a {endpoint.kind} target does not show vigil its processes"
    return None


def folder_size_bytes(folder: Path) -> int:
    """Bytes of every file below `folder` (files that vanish while counted are skipped)."""
    total = 0
    stack = [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total


def sample_self() -> ResourceSample:
    """vigil's own RSS and open files."""
    return sample_processes([psutil.Process()])
