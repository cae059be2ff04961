"""Daily and weekly cycles: detection on a coarse series, profiles on the fine one.

Detection follows the classical decomposition (as ``statsmodels``'
``seasonal_decompose``, but with medians so that anomalies do not bend the
profile): remove a centred moving-average level, then measure the
autocorrelation (statsmodels ``acf``) at the 1-day lag and, after removing the
daily profile, at the 1-week lag. A cycle counts when both its autocorrelation
and its strength (share of variance it explains, corrected for the noise a
median profile absorbs by itself) clear a bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.tsa.stattools import acf

SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 86_400
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
MIN_AUTOCORRELATION = 0.3
"""ACF at the seasonal lag needed to call a cycle (noise gives about 2/sqrt(n))."""
ACF_CLIP_SIGMAS = 8.0
"""Values further than this many robust sigmas from the median are clipped before the ACF."""
MIN_STRENGTH = 0.2
"""Share of the de-levelled variance a cycle must explain."""
MIN_SAMPLES_PER_DAY = 4
"""Coarser series cannot show a daily cycle."""
MIN_DAYS_FOR_DAILY = 3
MIN_SAMPLES_PER_HOUR = 4
MIN_HOURS_FOR_HOURLY = 24
LOCAL_HOURS = 24
"""Hours around each hour whose same-minute values define its hourly profile."""
MIN_WEEKS_FOR_WEEKLY = 2
MIN_WEEKS_FOR_SLOT_OF_WEEK = 4
"""Weeks needed before a median per slot of the week is steadier than day offsets."""


@dataclass(frozen=True)
class CycleFinding:
    """A detected cycle and where it peaks."""

    period_seconds: int
    autocorrelation: float
    strength: float
    profile: np.ndarray
    """Median level per slot of the period, in standardised units; slot 0 = midnight UTC
    (Monday midnight for the week)."""
    slot_seconds: int


@dataclass(frozen=True)
class SeasonalStructure:
    """What the coarse series says about cycles (and the fine one about the hourly cycle)."""

    daily: CycleFinding | None
    weekly: CycleFinding | None
    hourly: CycleFinding | None = None
    """Jobs that run every hour; used to explain the residual, not reported as a pattern."""


def centred_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average that shrinks its window at the edges."""
    window = max(1, min(window, len(values)))
    series = pd.Series(values)
    return series.rolling(window, center=True, min_periods=max(1, window // 2)).mean().to_numpy()


def slot_medians(values: np.ndarray, slots: np.ndarray, slot_count: int) -> np.ndarray:
    """Median of `values` per slot index in ``[0, slot_count)``; empty slots get 0."""
    frame = pd.DataFrame({"slot": slots, "value": values})
    medians = frame.groupby("slot", sort=True)["value"].median()
    profile = np.zeros(slot_count)
    profile[medians.index.to_numpy()] = medians.to_numpy()
    return np.nan_to_num(profile - np.median(profile))


def period_slots(instants_ns: np.ndarray, slot_seconds: int, period_seconds: int) -> np.ndarray:
    """Slot of the period each instant is in; slot 0 starts at midnight UTC (Monday for weeks)."""
    seconds = instants_ns // 1_000_000_000
    # The Unix epoch fell on a Thursday: shift by 3 days so weekly slot 0 is Monday 00:00.
    offset = 3 * SECONDS_PER_DAY if period_seconds == SECONDS_PER_WEEK else 0
    return ((seconds + offset) % period_seconds) // slot_seconds


def _strength(before: np.ndarray, after: np.ndarray, cycles: float) -> float:
    """Share of variance removed by a profile, minus what a median of `cycles` samples absorbs."""
    total = float(np.var(before))
    if total <= 0.0:
        return 0.0
    raw = 1.0 - float(np.var(after)) / total
    absorbed = 1.0 / max(cycles, 1.0)
    if absorbed >= 1.0:
        return 0.0
    return float(np.clip((raw - absorbed) / (1.0 - absorbed), 0.0, 1.0))


def _lag_acf(values: np.ndarray, lag: int) -> float:
    """Autocorrelation at one lag (0 when the series is too short or flat)."""
    if lag <= 0 or len(values) <= lag + 2:
        return 0.0
    # Winsorise first: one burst of 1000x the usual level would otherwise own
    # the whole autocorrelation and hide a cycle everywhere else.
    middle = float(np.median(values))
    scale = 1.4826 * float(np.median(np.abs(values - middle)))
    if scale > 0.0:
        values = np.clip(values, middle - ACF_CLIP_SIGMAS * scale, middle + ACF_CLIP_SIGMAS * scale)
    if float(np.var(values)) <= 0.0:
        return 0.0
    return float(acf(values, nlags=lag, fft=True)[lag])


def detect_cycles(
    coarse: np.ndarray, instants_ns: np.ndarray, step_seconds: int
) -> SeasonalStructure:
    """Find daily and weekly cycles in an evenly spaced, gap-free coarse series.

    Args:
        coarse: standardised values, no NaN.
        instants_ns: instant of each value.
        step_seconds: spacing of the values.
    """
    span_seconds = len(coarse) * step_seconds
    per_day = SECONDS_PER_DAY // step_seconds if SECONDS_PER_DAY % step_seconds == 0 else 0
    if per_day < MIN_SAMPLES_PER_DAY or span_seconds < MIN_DAYS_FOR_DAILY * SECONDS_PER_DAY:
        return SeasonalStructure(daily=None, weekly=None)
    weeks = span_seconds / SECONDS_PER_WEEK
    level_window = 7 * per_day if weeks >= MIN_WEEKS_FOR_WEEKLY else per_day
    delevelled = coarse - centred_mean(coarse, level_window)

    day_slots = period_slots(instants_ns, step_seconds, SECONDS_PER_DAY)
    day_profile = slot_medians(delevelled, day_slots, per_day)
    without_day = delevelled - day_profile[day_slots]
    days = span_seconds / SECONDS_PER_DAY
    daily = CycleFinding(
        period_seconds=SECONDS_PER_DAY,
        autocorrelation=_lag_acf(delevelled, per_day),
        strength=_strength(delevelled, without_day, days),
        profile=day_profile,
        slot_seconds=step_seconds,
    )
    daily_found = daily.autocorrelation >= MIN_AUTOCORRELATION and daily.strength >= MIN_STRENGTH

    weekly_found, weekly = False, None
    if weeks >= MIN_WEEKS_FOR_WEEKLY:
        base = without_day if daily_found else delevelled
        week_slots = period_slots(instants_ns, step_seconds, SECONDS_PER_WEEK)
        week_profile = slot_medians(base, week_slots, 7 * per_day)
        weekly = CycleFinding(
            period_seconds=SECONDS_PER_WEEK,
            autocorrelation=_lag_acf(base, 7 * per_day),
            strength=_strength(base, base - week_profile[week_slots], weeks),
            profile=week_profile,
            slot_seconds=step_seconds,
        )
        weekly_found = (
            weekly.autocorrelation >= MIN_AUTOCORRELATION and weekly.strength >= MIN_STRENGTH
        )
    return SeasonalStructure(
        daily=daily if daily_found else None,
        weekly=weekly if weekly_found else None,
    )


def detect_hourly_cycle(fine: np.ndarray, step_seconds: float) -> CycleFinding | None:
    """An hourly cycle in a gap-free fine series (cron jobs, hourly batches), if any.

    Args:
        fine: standardised values, no NaN.
        step_seconds: their spacing; must divide an hour into at least 4 slots.
    """
    whole_step = int(step_seconds) if float(step_seconds).is_integer() else 0
    if not whole_step or SECONDS_PER_HOUR % whole_step:
        return None
    per_hour = SECONDS_PER_HOUR // whole_step
    hours = len(fine) / per_hour
    if per_hour < MIN_SAMPLES_PER_HOUR or hours < MIN_HOURS_FOR_HOURLY:
        return None
    delevelled = fine - centred_mean(fine, per_hour)
    correlation = _lag_acf(delevelled, per_hour)
    if correlation < MIN_AUTOCORRELATION:
        return None
    return CycleFinding(
        period_seconds=SECONDS_PER_HOUR,
        autocorrelation=correlation,
        strength=0.0,
        profile=np.zeros(per_hour),
        slot_seconds=whole_step,
    )


def local_hourly_profile(
    fine: np.ndarray, instants_ns: np.ndarray, slot_seconds: int
) -> np.ndarray:
    """Hour-periodic component whose shape may change from day to day.

    Hourly jobs come and go (a cron entry added on Tuesday, removed on
    Friday), so each slot of the hour takes the median of the same slot over
    the surrounding day rather than over the whole series.
    """
    per_hour = SECONDS_PER_HOUR // slot_seconds
    first_slot = int(period_slots(instants_ns[:1], slot_seconds, SECONDS_PER_HOUR)[0])
    padded = np.concatenate((np.full(first_slot, np.nan), fine))
    rows = -(-len(padded) // per_hour)
    padded = np.concatenate((padded, np.full(rows * per_hour - len(padded), np.nan)))
    table = pd.DataFrame(padded.reshape(rows, per_hour))
    local = table.rolling(LOCAL_HOURS, center=True, min_periods=1).median().to_numpy()
    local = local - np.nanmedian(local, axis=1, keepdims=True)
    return np.nan_to_num(local.reshape(-1)[first_slot : first_slot + len(fine)])


def seasonal_component(
    structure: SeasonalStructure, instants_ns: np.ndarray, fine: np.ndarray, step_seconds: float
) -> np.ndarray:
    """The detected cycles evaluated at each fine instant.

    Profiles are re-estimated at the fine step so sharp edges (square waves,
    batch jobs on the hour, the midnight between Friday and Saturday) leave no
    residual spikes. With four weeks or more, a weekly cycle gets its own
    median per slot of the week (which also captures weekends with a
    different daily shape); with less, it is approximated by one offset per
    day of the week on top of the daily profile.

    Args:
        structure: cycles found on the coarse series.
        instants_ns: fine instants.
        fine: fine values with the level already removed, no NaN.
        step_seconds: fine step.
    """
    component = np.zeros(len(fine))
    if structure.hourly is not None:
        component += local_hourly_profile(fine, instants_ns, structure.hourly.slot_seconds)
    if structure.daily is None and structure.weekly is None:
        return component
    fine = fine - component
    whole_step = int(step_seconds) if float(step_seconds).is_integer() else 0
    if whole_step and SECONDS_PER_DAY % whole_step == 0:
        slot_seconds = whole_step
    else:
        slot_seconds = (structure.daily or structure.weekly).slot_seconds  # type: ignore[union-attr]
    span_weeks = (int(instants_ns[-1]) - int(instants_ns[0])) / 1e9 / SECONDS_PER_WEEK
    if structure.weekly is not None and span_weeks >= MIN_WEEKS_FOR_SLOT_OF_WEEK:
        slots = period_slots(instants_ns, slot_seconds, SECONDS_PER_WEEK)
        return component + slot_medians(fine, slots, SECONDS_PER_WEEK // slot_seconds)[slots]
    day_slots = period_slots(instants_ns, slot_seconds, SECONDS_PER_DAY)
    day_count = SECONDS_PER_DAY // slot_seconds
    cycles = np.zeros(len(fine))
    if structure.daily is not None:
        cycles += slot_medians(fine, day_slots, day_count)[day_slots]
    if structure.weekly is not None:
        weekdays = period_slots(instants_ns, SECONDS_PER_DAY, SECONDS_PER_WEEK)
        offsets = slot_medians(fine - cycles, weekdays, 7)[weekdays]
        cycles = offsets
        if structure.daily is not None:
            # Re-fit the daily shape once the day offsets are out of the way.
            cycles = offsets + slot_medians(fine - offsets, day_slots, day_count)[day_slots]
    return component + cycles


def peak_hours(profile: np.ndarray, slot_seconds: int) -> tuple[int, list[int], int]:
    """Peak hour, hours near the peak, and trough hour (UTC) of a daily profile."""
    # Evaluate the (periodic) profile at the middle of every hour; slot j
    # describes the middle of its own block, j + 0.5.
    middles = (np.arange(24) * 3600 + 1800) / slot_seconds - 0.5
    hourly = pd.Series(np.interp(middles, np.arange(len(profile)), profile, period=len(profile)))
    top, bottom = float(hourly.max()), float(hourly.min())
    near = hourly[hourly >= top - 0.15 * (top - bottom)]
    return int(hourly.idxmax()), sorted(int(h) for h in near.index), int(hourly.idxmin())


def peak_days(profile: np.ndarray, slot_seconds: int) -> tuple[list[int], list[int]]:
    """Days of week (0 = Monday) above and below the middle of a weekly profile's range."""
    days = np.arange(len(profile)) * slot_seconds // SECONDS_PER_DAY
    daily = pd.Series(profile).groupby(days).mean()
    middle = (float(daily.max()) + float(daily.min())) / 2.0
    high = sorted(int(d) for d in daily.index[daily > middle])
    low = sorted(int(d) for d in daily.index[daily <= middle])
    return high, low
