"""The soak's figures per cycle and its judgement: trends, availability, faults (pure).

Everything here is a pure function of what the checkpoints hold, so a resumed soak is judged
exactly as an uninterrupted one, and the judgement is tested with hand-made cycles.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from statistics import fmean

from pydantic import BaseModel, ConfigDict, Field

from vigil.load.statistics import decode_histogram, new_histogram
from vigil.results import CheckResult, Measurement, Severity, Status
from vigil.soak.config import SoakSuiteConfig
from vigil.soak.cycle import CycleTraffic, QualityCheck, ResourceSample
from vigil.soak.trends import fit_trend, judge_trend


class CycleFigures(BaseModel):
    """What one completed cycle measured, as checkpointed (JSON) in the store."""

    model_config = ConfigDict(frozen=True)

    cycle: int = Field(ge=1)
    started_at: datetime
    finished_at: datetime
    elapsed_h: float = Field(ge=0, description="Hours from the soak's start to the cycle's end.")
    requests: int = 0
    errors: int = 0
    error_rate: float = 0.0
    throughput_rps: float = 0.0
    p50_s: float | None = None
    p95_s: float | None = None
    p99_s: float | None = None
    probes: int = 0
    probes_good: int = 0
    availability: float | None = None
    fault_kind: str | None = None
    fault_injected_at: datetime | None = None
    mttr_s: float | None = None
    fault_reverted: bool | None = None
    fault_problem: str | None = None
    quality_accuracy: float | None = None
    learning_problem: str | None = None
    pattern_problem: str | None = None
    target_rss_mb: float | None = None
    target_open_files: int | None = None
    target_disk_mb: float | None = None
    vigil_rss_mb: float | None = None
    vigil_open_files: int | None = None


def build_figures(
    cycle: int,
    soak_started_at: datetime,
    traffic: CycleTraffic,
    quality: QualityCheck | None,
    pattern_problem: str | None,
    target: ResourceSample,
    vigil: ResourceSample,
) -> CycleFigures:
    """Combine a cycle's measurements into its figures."""
    return CycleFigures(
        cycle=cycle,
        started_at=traffic.started_at,
        finished_at=traffic.finished_at,
        elapsed_h=max(0.0, (traffic.finished_at - soak_started_at).total_seconds() / 3600.0),
        requests=traffic.requests,
        errors=traffic.errors,
        error_rate=traffic.errors / traffic.requests if traffic.requests else 0.0,
        throughput_rps=traffic.throughput_rps,
        p50_s=traffic.p50_s,
        p95_s=traffic.p95_s,
        p99_s=traffic.p99_s,
        probes=traffic.probes,
        probes_good=traffic.probes_good,
        availability=traffic.probes_good / traffic.probes if traffic.probes else None,
        fault_kind=traffic.fault_kind,
        fault_injected_at=traffic.fault_injected_at,
        mttr_s=traffic.mttr_s,
        fault_reverted=traffic.fault_reverted,
        fault_problem=traffic.fault_problem,
        quality_accuracy=quality.accuracy if quality else None,
        learning_problem=quality.problem if quality else None,
        pattern_problem=pattern_problem,
        target_rss_mb=target.rss_mb,
        target_open_files=target.open_files,
        target_disk_mb=target.disk_mb,
        vigil_rss_mb=vigil.rss_mb,
        vigil_open_files=vigil.open_files,
    )


class FaultEntry(BaseModel):
    """A journalled fault as the judgement sees it."""

    model_config = ConfigDict(frozen=True)

    cycle: int
    kind: str
    reverted: bool
    still_stopped: list[int] = Field(default_factory=list)


def horizon_h(settings: SoakSuiteConfig) -> float:
    """Hours from the soak's start to which its trends are projected."""
    return (settings.bounds.horizon_s or settings.duration_s) / 3600.0


def _series(cycles: Sequence[CycleFigures], name: str) -> tuple[list[float], list[float]]:
    times, values = [], []
    for figures in cycles:
        value = getattr(figures, name)
        if value is not None:
            times.append(figures.elapsed_h)
            values.append(float(value))
    return times, values


def soak_p95_s(histograms: Sequence[str]) -> float | None:
    """p95 of every load request of the soak, from the cycles' histograms merged exactly."""
    merged = new_histogram()
    for encoded in histograms:
        if encoded:
            merged.add(decode_histogram(encoded))
    if merged.get_total_count() == 0:
        return None
    return merged.get_value_at_percentile(95.0) / 1e6


def judge_soak(
    settings: SoakSuiteConfig,
    soak_started_at: datetime,
    cycles: Sequence[CycleFigures],
    histograms: Sequence[str],
    faults: Sequence[FaultEntry],
    *,
    resources_unseen: str | None = None,
) -> tuple[list[CheckResult], list[Measurement]]:
    """The soak's checks and measures from its completed cycles.

    Args:
        settings: The soak's settings (bounds, planned length).
        soak_started_at: When the soak first began.
        cycles: Every completed cycle, in order.
        histograms: Each cycle's encoded latency histogram.
        faults: The fault journal.
        resources_unseen: Why vigil cannot sample the target's processes (it did not start
            them), if so: a memory trend without samples is then not applicable, not an error.
    """
    bounds = settings.bounds
    end_h = horizon_h(settings)
    context: dict[str, float | str] = {
        "cycles": float(len(cycles)),
        "planned_cycles": float(settings.planned_cycles),
        "cycle_s": settings.cycle_s,
        "users": float(settings.load.users),
    }
    times, p95 = _series(cycles, "p95_s")
    latency = fit_trend(times, p95, bounds.p95_latency_bound_s, end_h)
    times, rss = _series(cycles, "target_rss_mb")
    memory = fit_trend(times, rss, bounds.target_rss_bound_mb, end_h)
    times, disk = _series(cycles, "target_disk_mb")
    disk_trend = fit_trend(times, disk, bounds.target_disk_bound_mb, end_h)
    checks = [
        judge_trend(
            "latency_trend_within_bound",
            "p95 latency",
            "s",
            latency,
            soak_started_at,
            min_points=bounds.min_cycles_for_trend,
        ),
        CheckResult(
            name="memory_trend_within_bound",
            status=Status.NOT_APPLICABLE,
            message=f"the target's memory is not judged: {resources_unseen}",
        )
        if resources_unseen is not None and not rss
        else judge_trend(
            "memory_trend_within_bound",
            "target RSS",
            "MB",
            memory,
            soak_started_at,
            min_points=bounds.min_cycles_for_trend,
        ),
    ]
    if disk:
        checks.append(
            judge_trend(
                "disk_trend_within_bound",
                "target data on disk",
                "MB",
                disk_trend,
                soak_started_at,
                min_points=bounds.min_cycles_for_trend,
            )
        )
    probes = sum(c.probes for c in cycles)
    good = sum(c.probes_good for c in cycles)
    share = good / probes if probes else None
    if share is None:
        checks.append(
            CheckResult(
                name="availability_over_soak",
                status=Status.ERROR,
                message="no probe was counted in any cycle, so availability is unknown",
            )
        )
    else:
        worst = min(cycles, key=lambda c: c.availability if c.availability is not None else 1.0)
        checks.append(
            CheckResult(
                name="availability_over_soak",
                status=Status.PASSED if share >= bounds.min_availability else Status.FAILED,
                message=f"{share:.4%} of {probes} probes were good over {len(cycles)} cycles "
                f"(fault windows excluded; bound {bounds.min_availability:.2%}); worst cycle "
                f"{worst.cycle} at {worst.availability or 0:.2%}",
                measured={"availability": share, "probes": float(probes)},
            )
        )
    checks.append(_faults_reverted(faults))
    not_injected = [(c.cycle, c.fault_problem) for c in cycles if c.fault_problem]
    if not_injected:
        checks.append(
            CheckResult(
                name="every_due_fault_injected",
                status=Status.ERROR,
                message=f"the fault due in {len(not_injected)} cycle(s) was not injected; first "
                f"in cycle {not_injected[0][0]}: {not_injected[0][1]}",
                measured={"not_injected": float(len(not_injected))},
            )
        )
    fault_cycles = [c for c in cycles if c.fault_kind is not None]
    unrecovered = [c.cycle for c in fault_cycles if c.mttr_s is None]
    checks.append(
        CheckResult(
            name="every_fault_recovered",
            status=(
                Status.NOT_APPLICABLE
                if not fault_cycles
                else Status.FAILED
                if unrecovered
                else Status.PASSED
            ),
            message=(
                "no cycle injected a fault"
                if not fault_cycles
                else f"the target never held good probes for {settings.fault.settle_s:g} s after "
                f"the fault of cycle(s) {unrecovered}"
                if unrecovered
                else f"the target recovered from all {len(fault_cycles)} faults"
            ),
        )
    )
    checks.append(_every_cycle("learning_held_every_cycle", "learning check", cycles, "learning"))
    checks.append(_every_cycle("patterns_found_every_cycle", "pattern check", cycles, "pattern"))

    measurements = [Measurement(name="soak_cycles_completed", value=len(cycles), context=context)]
    if share is not None:
        measurements.append(Measurement(name="soak_availability", value=share, context=context))
    overall_p95 = soak_p95_s(histograms)
    if overall_p95 is not None:
        measurements.append(
            Measurement(name="soak_p95_latency_s", value=overall_p95, context=context)
        )
    if latency.slope_per_h is not None:
        measurements.append(
            Measurement(name="soak_p95_slope_s_per_h", value=latency.slope_per_h, context=context)
        )
    if memory.slope_per_h is not None:
        measurements.append(
            Measurement(name="soak_rss_slope_mb_per_h", value=memory.slope_per_h, context=context)
        )
    mttrs = [c.mttr_s for c in fault_cycles if c.mttr_s is not None]
    if mttrs:
        measurements.append(
            Measurement(
                name="soak_mttr_s",
                value=fmean(mttrs),
                context={**context, "faults": float(len(mttrs)), "worst_s": max(mttrs)},
            )
        )
    return checks, measurements


def _faults_reverted(faults: Sequence[FaultEntry]) -> CheckResult:
    if not faults:
        return CheckResult(
            name="every_fault_reverted",
            status=Status.NOT_APPLICABLE,
            message="no fault was injected",
        )
    open_ = [f.cycle for f in faults if not f.reverted]
    stopped = sorted({pid for f in faults for pid in f.still_stopped})
    if open_ or stopped:
        return CheckResult(
            name="every_fault_reverted",
            status=Status.FAILED,
            message=f"faults of cycle(s) {open_} were never reverted; processes still stopped: "
            f"{stopped or 'none'}",
            measured={"unreverted": float(len(open_)), "still_stopped": float(len(stopped))},
        )
    return CheckResult(
        name="every_fault_reverted",
        status=Status.PASSED,
        message=f"all {len(faults)} faults were reverted and no process is left stopped",
        measured={"faults": float(len(faults))},
    )


def _every_cycle(name: str, label: str, cycles: Sequence[CycleFigures], which: str) -> CheckResult:
    problems = [
        (c.cycle, getattr(c, f"{which}_problem"))
        for c in cycles
        if getattr(c, f"{which}_problem") is not None
    ]
    if not cycles:
        return CheckResult(name=name, status=Status.NOT_APPLICABLE, message="no cycle completed")
    if problems:
        first_cycle, first = problems[0]
        return CheckResult(
            name=name,
            status=Status.FAILED,
            severity=Severity.WARN,
            message=f"the {label} failed in {len(problems)} of {len(cycles)} cycles; first in "
            f"cycle {first_cycle}: {first}",
            measured={"failed_cycles": float(len(problems))},
        )
    return CheckResult(
        name=name,
        status=Status.PASSED,
        severity=Severity.WARN,
        message=f"the {label} passed in all {len(cycles)} cycles",
    )


def progress_line(
    settings: SoakSuiteConfig, soak_started_at: datetime, now: datetime, latest: CycleFigures
) -> str:
    """One line on where the soak is: cycle, elapsed, remaining, the latest figures."""
    elapsed = (now - soak_started_at).total_seconds()
    remaining_cycles = max(0, settings.planned_cycles - latest.cycle)
    per_cycle = elapsed / latest.cycle if latest.cycle else settings.cycle_s
    remaining = remaining_cycles * per_cycle

    def _fmt(value: float | None, spec: str, unit: str = "") -> str:
        return "-" if value is None else f"{value:{spec}}{unit}"

    return (
        f"soak cycle {latest.cycle}/{settings.planned_cycles}: elapsed {_hms(elapsed)}, "
        f"remaining ~{_hms(remaining)}; p50 {_fmt(latest.p50_s, '.3f', ' s')}, "
        f"p95 {_fmt(latest.p95_s, '.3f', ' s')}, p99 {_fmt(latest.p99_s, '.3f', ' s')}, "
        f"errors {latest.error_rate:.2%}, availability {_fmt(latest.availability, '.2%')}, "
        f"MTTR {_fmt(latest.mttr_s, '.1f', ' s')}, "
        f"accuracy {_fmt(latest.quality_accuracy, '.3f')}, "
        f"target RSS {_fmt(latest.target_rss_mb, '.0f', ' MB')}, "
        f"open files {_fmt(latest.target_open_files, 'd')}, "
        f"data {_fmt(latest.target_disk_mb, '.0f', ' MB')}"
    )


def _hms(seconds: float) -> str:
    seconds = int(max(0.0, seconds))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
