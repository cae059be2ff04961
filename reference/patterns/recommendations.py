"""Operational recommendations derived from what was found in one metric.

Each rule reads typed findings (anomalies and patterns of one metric) and the
metric's role, and states the action, when to take it, why, and what it should
change. Rules are plain functions, applied in one place: :func:`recommend`.
"""

from __future__ import annotations

from datetime import datetime

from reference.patterns.metric_roles import MetricRole, is_degradation
from reference.patterns.models import (
    Anomaly,
    ChangePointPattern,
    DailySeasonalityPattern,
    IntervalWindow,
    Pattern,
    Recommendation,
    RecurringWindow,
    TrendPattern,
    WeeklySeasonalityPattern,
)

MAX_PER_METRIC_AND_ACTION = 3
"""Most recommendations of one action for one metric (the strongest findings first)."""
TRANSIENT_SHIFT_SECONDS = 24 * 3600
"""A shift undone within this long was an episode that ended by itself (a surge, a holiday)."""


RETURN_TO_NORMAL_SHARE = 1 / 3
"""A shift that lands within this share of its departure from the typical level returned."""


def _returns_to_normal(shift: ChangePointPattern, typical_level: float | None) -> bool:
    """Whether a shift brought the metric from far off its typical level back close to it."""
    if typical_level is None:
        return False
    away = abs(shift.level_before - typical_level)
    return away > 0 and abs(shift.level_after - typical_level) <= RETURN_TO_NORMAL_SHARE * away


def _is_transient(shift: ChangePointPattern, shifts: list[ChangePointPattern]) -> bool:
    """Whether the opposite shifts of the metric within a day undo most of this one."""
    change = shift.level_after - shift.level_before
    undone = 0.0
    for other in shifts:
        gap = abs((other.at - shift.at).total_seconds())
        if other is shift or gap > TRANSIENT_SHIFT_SECONDS:
            continue
        reverse = other.level_after - other.level_before
        if change * reverse < 0:
            undone += abs(reverse)
    return undone >= 0.5 * abs(change)


def _clock(moment: datetime) -> str:
    """A short UTC rendering for prose."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _lead_in_hours(peak_hours: list[int]) -> list[int]:
    """The hour before the first peak hour of the (possibly midnight-wrapping) peak block, then
    the peak hours themselves."""
    ordered = sorted(peak_hours)
    # The block starts after the largest gap between consecutive peak hours (around the clock).
    gaps = [((ordered[(i + 1) % len(ordered)] - hour) % 24, i) for i, hour in enumerate(ordered)]
    _, before_start = max(gaps)
    first = ordered[(before_start + 1) % len(ordered)]
    return sorted({(first - 1) % 24, *ordered})


def _seasonal_recommendations(
    metric: str,
    role: MetricRole,
    daily: DailySeasonalityPattern,
    weekly: WeeklySeasonalityPattern | None,
    peak_level: float,
    trough_level: float,
) -> list[Recommendation]:
    """Scale ahead of the daily (and weekly) peak; scale down in deep troughs of demand."""
    if role.bad_direction == "down":
        return []
    days = list(weekly.peak_days) if weekly is not None else []
    when = f"on {', '.join(d.capitalize() for d in days)}" if days else "every day"
    recommendations = [
        Recommendation(
            action="scale_up",
            target=metric,
            window=RecurringWindow(hours=_lead_in_hours(daily.peak_hours), days=days),
            rationale=(
                f"{metric} follows a daily cycle (strength {daily.strength:.2f}, 1-day "
                f"autocorrelation {daily.autocorrelation:.2f}) peaking around "
                f"{daily.peak_hour:02d}:00 UTC {when}, at about {peak_level:.4g} against "
                f"{trough_level:.4g} at the trough."
            ),
            expected_effect=(
                "Capacity is in place an hour before the peak, so latency and errors stay flat "
                "through it instead of rising with the load."
            ),
        )
    ]
    if role.is_load and peak_level > 0 and trough_level <= 0.5 * peak_level:
        recommendations.append(
            Recommendation(
                action="scale_down",
                target=metric,
                window=RecurringWindow(hours=[daily.trough_hour], days=[]),
                rationale=(
                    f"Demand in {metric} falls to about {trough_level:.4g} around "
                    f"{daily.trough_hour:02d}:00 UTC, under half of its peak ({peak_level:.4g})."
                ),
                expected_effect="Lower cost during the trough with no effect on the peak.",
            )
        )
    return recommendations


def _trend_recommendation(
    metric: str, role: MetricRole, trend: TrendPattern, data_end: datetime
) -> Recommendation | None:
    """Alert on capacity ahead of growing demand or resource use; investigate a worsening trend."""
    growing_use = trend.direction == "increasing" and (role.is_load or role.is_capacity)
    rate = f"{trend.slope_per_day:+.4g} per day ({trend.relative_slope_per_day:+.2%} per day)"
    if growing_use:
        return Recommendation(
            action="add_capacity_alerting",
            target=metric,
            window=IntervalWindow(start=data_end),
            rationale=(
                f"{metric} has grown steadily over the whole span, {rate}; Mann-Kendall "
                f"p = {trend.p_value:.2g}."
            ),
            expected_effect=(
                "An alert on headroom fires days before demand or resource use outgrows the "
                "provisioned capacity."
            ),
        )
    if is_degradation(role, trend.slope_per_day) and role.bad_direction != "either":
        return Recommendation(
            action="investigate",
            target=metric,
            window=IntervalWindow(start=data_end),
            rationale=f"{metric} worsens steadily over the whole span, {rate}.",
            expected_effect=(
                "The slow cause (leak, growing data, drift) is found before users notice."
            ),
        )
    return None


def _anomaly_recommendation(
    metric: str, role: MetricRole, anomaly: Anomaly, shift: ChangePointPattern | None
) -> Recommendation | None:
    """Roll back after a bad level shift in a failure signal; investigate drifts and bursts."""
    window = IntervalWindow(start=anomaly.start, end=anomaly.end)
    if anomaly.kind == "gradual_degradation":
        return Recommendation(
            action="investigate",
            target=metric,
            window=window,
            rationale=(
                f"{metric} degraded gradually from {_clock(anomaly.start)} to "
                f"{_clock(anomaly.end)} ({anomaly.score:.1f} noise deviations in total)."
            ),
            expected_effect=(
                "The slow cause (a leak, a growing queue, data drift) is fixed before the metric "
                "crosses its objective."
            ),
        )
    if anomaly.kind == "level_shift" and shift is not None:
        change = shift.level_after - shift.level_before
        if role.is_load and role.bad_direction == "either":
            return Recommendation(
                action="investigate",
                target=metric,
                window=IntervalWindow(start=shift.at),
                rationale=(
                    f"Demand in {metric} stepped from {shift.level_before:.4g} to "
                    f"{shift.level_after:.4g} at {_clock(shift.at)}: lost traffic (a broken "
                    "client, DNS, a routing change) or a new source of load."
                ),
                expected_effect="The cause of the change in demand is known; capacity matches it.",
            )
        if not is_degradation(role, change):
            return None
        step = (
            f"{metric} stepped from {shift.level_before:.4g} to {shift.level_after:.4g} at "
            f"{_clock(shift.at)} ({shift.magnitude:.1f} noise deviations)"
        )
        if role.is_failure_signal:
            return Recommendation(
                action="rollback_deploy",
                target=metric,
                window=IntervalWindow(start=shift.at),
                rationale=(
                    f"{step}; a sudden shift in errors, latency or model quality usually "
                    "follows a deploy or configuration change made just before."
                ),
                expected_effect=f"{metric} returns to about {shift.level_before:.4g}.",
            )
        return Recommendation(
            action="investigate",
            target=metric,
            window=IntervalWindow(start=shift.at),
            rationale=f"{step}.",
            expected_effect="The change made at that time is identified and kept or reverted.",
        )
    if anomaly.kind == "intermittent" and not (role.is_load and role.bad_direction == "either"):
        return Recommendation(
            action="investigate",
            target=metric,
            window=window,
            rationale=(
                f"{metric} showed repeated short excursions between {_clock(anomaly.start)} and "
                f"{_clock(anomaly.end)}: an intermittent failure (flapping dependency, retries, "
                "a periodic job)."
            ),
            expected_effect="The intermittent cause is found and the bursts stop.",
        )
    return None


def _spike_alerting(
    metric: str, role: MetricRole, anomalies: list[Anomaly]
) -> Recommendation | None:
    """Alert on repeated spikes in the bad direction."""
    bad = [
        anomaly
        for anomaly in anomalies
        if anomaly.kind in ("spike", "dip")
        and is_degradation(role, 1.0 if anomaly.kind == "spike" else -1.0)
    ]
    if len(bad) < 3:
        return None
    return Recommendation(
        action="add_anomaly_alerting",
        target=metric,
        window=IntervalWindow(start=bad[0].start, end=bad[-1].end),
        rationale=f"{metric} had {len(bad)} isolated {bad[0].kind}s between "
        f"{_clock(bad[0].start)} and {_clock(bad[-1].end)}.",
        expected_effect=(
            "Each future excursion pages someone within minutes instead of going unseen."
        ),
    )


def recommend(
    metric: str,
    role: MetricRole,
    anomalies: list[Anomaly],
    patterns: list[Pattern],
    data_end: datetime,
    daily_levels: tuple[float, float] | None,
    typical_level: float | None = None,
) -> list[Recommendation]:
    """All recommendations for one metric.

    Args:
        metric: the metric's name.
        role: how to read its changes.
        anomalies: its anomalies, by start.
        patterns: its patterns.
        data_end: the last instant of the data (open-ended actions start there).
        daily_levels: (peak, trough) level of its daily cycle in its units, if it has one.
        typical_level: the metric's median over the span (a shift back to it ends an episode).
    """
    recommendations: list[Recommendation] = []
    daily = next((p for p in patterns if isinstance(p, DailySeasonalityPattern)), None)
    weekly = next((p for p in patterns if isinstance(p, WeeklySeasonalityPattern)), None)
    if daily is not None and daily_levels is not None:
        recommendations += _seasonal_recommendations(metric, role, daily, weekly, *daily_levels)
    trend = next((p for p in patterns if isinstance(p, TrendPattern)), None)
    if trend is not None and (found := _trend_recommendation(metric, role, trend, data_end)):
        recommendations.append(found)
    shift_list = [p for p in patterns if isinstance(p, ChangePointPattern)]
    shifts = {p.at: p for p in shift_list}
    per_action: dict[str, int] = {}
    for anomaly in sorted(anomalies, key=lambda a: a.score, reverse=True):
        shift = shifts.get(anomaly.start)
        if shift is not None and _returns_to_normal(shift, typical_level):
            # The shift ended an episode (the way back from a surge or a bad deploy): the
            # episode's start is what to act on, not its end.
            continue
        held_briefly = (
            shift is not None
            and shift.holds_seconds is not None
            and shift.holds_seconds < TRANSIENT_SHIFT_SECONDS
        )
        if (
            shift is not None
            and not role.is_failure_signal
            and (held_briefly or _is_transient(shift, shift_list))
        ):
            # Demand or resource use that went back to its level within a day (a surge, a
            # holiday) left nothing to act on; in errors, latency or model quality such an
            # episode is still a deploy to roll back, so those are kept.
            continue
        found = _anomaly_recommendation(metric, role, anomaly, shift)
        if found is None or per_action.get(found.action, 0) >= MAX_PER_METRIC_AND_ACTION:
            continue
        per_action[found.action] = per_action.get(found.action, 0) + 1
        recommendations.append(found)
    if (alerting := _spike_alerting(metric, role, anomalies)) is not None:
        recommendations.append(alerting)
    return recommendations
