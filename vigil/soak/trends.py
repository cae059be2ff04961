"""Trend judgements: does a figure's slope take it over its bound before the soak ends?

A soak is judged on where its figures are going, not only where they are: a p95 latency or a
resident memory that climbs steadily fails the soak as soon as its fitted line (ordinary least
squares over the completed cycles) would reach the bound before the planned end, and the
message says when. A slope counts only when it is distinguishable from zero (the lower end of
its 95 % confidence interval is above zero), so noise around a flat level never fails a soak.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from scipy import stats

from vigil.results import CheckResult, Severity, Status


class Trend(BaseModel):
    """A figure's fitted line over the soak, and where it meets its bound."""

    model_config = ConfigDict(frozen=True)

    points: int
    slope_per_h: float | None
    """Units per hour; None with fewer than two distinct instants."""
    slope_ci95: tuple[float, float] | None
    intercept: float | None
    latest: float | None
    bound: float
    end_h: float
    """Planned end of the soak, in hours from its start."""
    crossing_h: float | None
    """Hours from the start at which the line reaches the bound (None if it never does)."""

    @property
    def significant(self) -> bool:
        """Whether the slope is positive beyond doubt (its 95 % CI lies above zero)."""
        return self.slope_ci95 is not None and self.slope_ci95[0] > 0

    @property
    def crosses_before_end(self) -> bool:
        """The latest level is at the bound, or a significant slope reaches it by the end."""
        if self.latest is not None and self.latest >= self.bound:
            return True
        return self.significant and self.crossing_h is not None and self.crossing_h <= self.end_h


def fit_trend(
    times_h: Sequence[float], values: Sequence[float], bound: float, end_h: float
) -> Trend:
    """Fit a line to `values` over `times_h` (hours from the soak's start) and project it.

    Args:
        times_h: When each value was measured, in hours from the soak's start.
        values: The figure, one per instant (same length as `times_h`).
        bound: The level the figure must not reach.
        end_h: The soak's planned end, in hours from its start.
    """
    if len(times_h) != len(values):
        raise ValueError(f"{len(times_h)} instants but {len(values)} values; give one per instant")
    latest = values[-1] if values else None
    base = {"points": len(values), "latest": latest, "bound": bound, "end_h": end_h}
    if len(set(times_h)) < 2:
        return Trend(slope_per_h=None, slope_ci95=None, intercept=None, crossing_h=None, **base)
    fit = stats.linregress(times_h, values)
    slope, intercept = float(fit.slope), float(fit.intercept)
    if len(values) > 2 and math.isfinite(fit.stderr):
        half = float(stats.t.ppf(0.975, len(values) - 2)) * float(fit.stderr)
        ci = (slope - half, slope + half)
    else:
        ci = None
    crossing = (bound - intercept) / slope if slope > 0 else None
    return Trend(slope_per_h=slope, slope_ci95=ci, intercept=intercept, crossing_h=crossing, **base)


def _describe_slope(trend: Trend, unit: str) -> str:
    if trend.slope_per_h is None:
        return "no slope yet"
    ci = (
        f" (95 % CI {trend.slope_ci95[0]:+.4g} .. {trend.slope_ci95[1]:+.4g})"
        if trend.slope_ci95
        else ""
    )
    return f"slope {trend.slope_per_h:+.4g} {unit}/h{ci}"


def judge_trend(
    name: str,
    label: str,
    unit: str,
    trend: Trend,
    soak_started_at: datetime,
    *,
    min_points: int,
) -> CheckResult:
    """A check that fails when `trend` reaches its bound before the soak ends.

    Args:
        name: The check's predicate name, e.g. ``memory_trend_within_bound``.
        label: What the figure is, for the message (``target RSS``).
        unit: The figure's unit (``MB``).
        trend: The fitted trend.
        soak_started_at: When the soak began (to state the projected instant).
        min_points: Fewer points than this judge the level only.
    """
    measured = {"bound": trend.bound, "points": float(trend.points)}
    if trend.latest is not None:
        measured["latest"] = trend.latest
    if trend.slope_per_h is not None:
        measured["slope_per_h"] = trend.slope_per_h
    if trend.crossing_h is not None:
        measured["projected_crossing_h"] = trend.crossing_h
    if trend.latest is None:
        return CheckResult(
            name=name,
            status=Status.ERROR,
            severity=Severity.ERROR,
            message=f"no {label} was measured in any cycle, so its trend cannot be judged",
            measured=measured,
        )
    slope_text = _describe_slope(trend, unit)
    if trend.latest >= trend.bound:
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message=f"{label} is {trend.latest:.4g} {unit}, at or above its bound of "
            f"{trend.bound:.4g} {unit} ({slope_text})",
            measured=measured,
        )
    if trend.points >= min_points and trend.crosses_before_end and trend.crossing_h is not None:
        at = soak_started_at + timedelta(hours=trend.crossing_h)
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message=f"{label} would reach its bound of {trend.bound:.4g} {unit} "
            f"{trend.crossing_h:.3g} h into the soak (at {at:%Y-%m-%d %H:%M:%S}Z), before its "
            f"planned end at {trend.end_h:.3g} h: {slope_text}, now {trend.latest:.4g} {unit}",
            measured=measured,
        )
    if trend.points < min_points:
        detail = f"only {trend.points} cycle(s), fewer than the {min_points} a trend needs"
    else:
        detail = slope_text
    return CheckResult(
        name=name,
        status=Status.PASSED,
        message=f"{label} {trend.latest:.4g} {unit} stays below {trend.bound:.4g} {unit} through "
        f"the planned {trend.end_h:.3g} h ({detail})",
        measured=measured,
    )
