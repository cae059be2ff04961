"""The stress ramp: step users (or arrival rate) up until the SLO breaks or the ceiling holds."""

from __future__ import annotations

import asyncio

import uvloop
from pydantic import BaseModel, ConfigDict, Field

from vigil.load.config import LatencySloConfig, StressRampConfig
from vigil.load.engine import ProgressCallback, StopSignal, run_load_async
from vigil.load.scenario import Scenario
from vigil.load.statistics import LoadResult


class SaturationStep(BaseModel):
    """One step of the ramp: how many users, what was measured, whether the SLO held."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    users: int = Field(ge=1, description="Users (closed) or in-flight cap (open) of the step.")
    arrival_rate: float | None = Field(
        default=None, description="Open-model ramp: the step's arrivals per second."
    )
    within_slo: bool
    reason: str = Field(description="Why the step is within the SLO or not, with the figures.")
    result: LoadResult


class SaturationResult(BaseModel):
    """The steps of a stress ramp and the saturation point it found."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slo: LatencySloConfig
    steps: list[SaturationStep]
    saturation_users: int | None = Field(
        description="Users of the last step within the SLO (None when even the first broke it)."
    )
    breaking_users: int | None = Field(
        description="Users of the first step that broke the SLO (None when none did)."
    )
    saturation_rate: float | None = Field(
        default=None,
        description="Open-model ramp: rate of the last step within the SLO (None when none held).",
    )
    breaking_rate: float | None = Field(
        default=None, description="Open-model ramp: rate of the first step that broke the SLO."
    )
    ceiling_reached: bool = Field(
        description="Whether the ramp got to its ceiling (max_users or max_rate) within the SLO."
    )
    stopped: bool = Field(default=False, description="Whether the stop signal ended the ramp.")


def judge_step(result: LoadResult, slo: LatencySloConfig) -> tuple[bool, str]:
    """Whether a step's measurements hold the SLO, and a sentence saying why."""
    p95 = result.overall.latency.p95_ms
    rate = result.overall.error_rate
    if result.overall.count == 0:
        return False, "no request completed during the measured window"
    figures = (
        f"p95 {p95:g} ms (limit {slo.p95_ms:g}), "
        f"error rate {rate:.4f} (limit {slo.max_error_rate:g})"
    )
    if p95 is not None and p95 >= slo.p95_ms:
        return False, f"p95 over the limit: {figures}"
    if rate > slo.max_error_rate:
        return False, f"error rate over the limit: {figures}"
    return True, f"within the SLO: {figures}"


async def find_saturation_async(
    base_url: str,
    ramp: StressRampConfig,
    scenario: Scenario,
    slo: LatencySloConfig,
    *,
    stop_event: StopSignal | None = None,
    progress: ProgressCallback | None = None,
) -> SaturationResult:
    """Run the ramp's steps in turn, stopping at the first step that breaks the SLO.

    Args:
        base_url: Origin of the target, e.g. ``http://127.0.0.1:8080``.
        ramp: Users (or arrival rate) of the first step, the increment, the ceiling and each
            step's duration.
        scenario: The steps each virtual user runs (its row source carries over between steps).
        slo: The p95 and error-rate limits a step must hold.
        stop_event: Set it to end the ramp within about a second (the current step is kept).
        progress: Passed to each step's run.
    """
    steps: list[SaturationStep] = []
    breaking: SaturationStep | None = None
    for profile in ramp.step_profiles():
        result = await run_load_async(
            base_url, profile, scenario, stop_event=stop_event, progress=progress
        )
        within, reason = judge_step(result, slo)
        step = SaturationStep(
            users=profile.users,
            arrival_rate=profile.arrival_rate,
            within_slo=within,
            reason=reason,
            result=result,
        )
        steps.append(step)
        if stop_event is not None and stop_event.is_set():
            break
        if not within:
            breaking = step
            break
    held = [s for s in steps if s.within_slo]
    stopped = stop_event is not None and stop_event.is_set()
    return SaturationResult(
        slo=slo,
        steps=steps,
        saturation_users=held[-1].users if held else None,
        breaking_users=breaking.users if breaking is not None else None,
        saturation_rate=held[-1].arrival_rate if held else None,
        breaking_rate=breaking.arrival_rate if breaking is not None else None,
        ceiling_reached=breaking is None and not stopped,
        stopped=stopped,
    )


def find_saturation(
    base_url: str,
    ramp: StressRampConfig,
    scenario: Scenario,
    slo: LatencySloConfig,
    *,
    stop_event: StopSignal | None = None,
    progress: ProgressCallback | None = None,
) -> SaturationResult:
    """Synchronous :func:`find_saturation_async` on its own uvloop event loop."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(
            find_saturation_async(
                base_url, ramp, scenario, slo, stop_event=stop_event, progress=progress
            )
        )
