"""The suite's checks: pure judgements of what the steps measured."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from vigil.load import LatencySloConfig, LoadResult, RequestStats
from vigil.load.saturation import judge_step
from vigil.load.statistics import merge_request_stats
from vigil.performance.outcome import ModelUpdateProbeResult, StepOutcome
from vigil.performance.saturation import SaturatedResource, first_saturated_resource
from vigil.performance.settings import SaturationLimitsConfig
from vigil.results import CheckResult, Severity, Status


def quantile(values: Sequence[float], q: float) -> float | None:
    """The `q` quantile of `values` by the nearest-rank method (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def seconds_of(ms: float | None) -> float | None:
    """Milliseconds (the load engine's unit) as seconds (the suite's); None stays None."""
    return None if ms is None else ms / 1000.0


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
    p95 = seconds_of(window.overall.latency.p95_ms) or 0.0
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
    p95 = seconds_of(merged.overall.latency.p95_ms) or 0.0
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
    predict = predict_window(outcomes)
    if predict is None or predict.count == 0:
        return CheckResult(
            name=name, status=Status.FAILED, message="no prediction completed under load"
        )
    p95 = seconds_of(predict.latency.p95_ms) or 0.0
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


def predict_window(
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


def judge_step_result(result: LoadResult, slo: LatencySloConfig) -> bool:
    """Whether a merged load result holds the SLO."""
    return judge_step(result, slo)[0]


def judge_without_predict() -> CheckResult:
    """The suite's headline check when the target cannot predict: not applicable, never passed."""
    return CheckResult(
        name="p95_latency_within_budget_at_1000_users",
        status=Status.NOT_APPLICABLE,
        message="the target has no predict capability to load",
    )
