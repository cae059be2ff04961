"""Lasting changes: level shifts (ruptures), gradual ramps (rolling slope + Mann-Kendall), trend.

All functions here work on the coarse, de-seasonalised series in standardised
units, whose noise level ``sigma`` the caller measures robustly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import ruptures
from ruptures.base import BaseCost
from ruptures.exceptions import NotEnoughPoints
from scipy import stats

SLOPE_T = 4.0
"""Rolling slope, in standard errors, that marks a point as part of a ramp."""
MAD_TO_SIGMA = 1.4826
"""Ratio of the standard deviation to the median absolute deviation for Gaussian noise."""


def robust_sigma(values: np.ndarray) -> float:
    """Standard deviation estimated from the median absolute deviation (0 for flat input)."""
    if len(values) == 0:
        return 0.0
    return MAD_TO_SIGMA * float(np.median(np.abs(values - np.median(values))))


def difference_sigma(values: np.ndarray) -> float:
    """Noise level from successive differences: blind to steps and slow trends."""
    if len(values) < 3:
        return 0.0
    return robust_sigma(np.diff(values)) / np.sqrt(2.0)


class PrefixSumL2Cost(BaseCost):
    """ruptures' L2 cost (squared deviation from the segment mean) from prefix sums.

    Same value as ``model="l2"``, but each segment costs O(1) instead of a
    pass over the segment, which makes binary segmentation several times faster.
    """

    model = "prefix_sum_l2"
    min_size = 2

    def fit(self, signal: np.ndarray) -> PrefixSumL2Cost:
        """Precompute the prefix sums of the values and of their squares."""
        self.signal = np.asarray(signal, dtype=np.float64).reshape(len(signal), -1)
        values = self.signal[:, 0]
        self.sums = np.concatenate(([0.0], np.cumsum(values)))
        self.squares = np.concatenate(([0.0], np.cumsum(values * values)))
        return self

    def error(self, start: int, end: int) -> float:
        """Sum of squared deviations from the mean over ``signal[start:end]``."""
        count = end - start
        if count < self.min_size:
            raise NotEnoughPoints
        total = self.sums[end] - self.sums[start]
        return float(self.squares[end] - self.squares[start] - total * total / count)


@dataclass(frozen=True)
class LevelShift:
    """A sudden, lasting change of level at a coarse index."""

    index: int
    """First coarse index at the new level."""
    before: float
    after: float
    """Median levels of the neighbouring segments (standardised units)."""


@dataclass(frozen=True)
class Ramp:
    """A sustained monotonic drift between two coarse indices."""

    start: int
    end: int
    """Inclusive coarse indices."""
    rise: float
    """Theil-Sen change over the ramp, standardised units (signed)."""
    slope: float
    """Theil-Sen slope per coarse step, standardised units."""
    p_value: float


@dataclass(frozen=True)
class Trend:
    """A monotonic trend over the whole series."""

    slope: float
    """Theil-Sen slope per coarse step, standardised units."""
    p_value: float


def find_level_shifts(
    series: np.ndarray,
    sigma: float,
    min_size: int,
    min_jump: float,
    min_jump_fine: float,
    sigma_fine: float,
) -> list[LevelShift]:
    """Sudden lasting changes of level, found by binary segmentation (ruptures, L2 cost).

    A breakpoint is kept when the segments on either side differ by at least
    `min_jump` coarse sigmas and `min_jump_fine` fine sigmas, and most of that
    difference happens at once (a ramp split into steps is not a level shift).

    Args:
        series: coarse de-seasonalised values, no NaN.
        sigma: noise level of `series`.
        min_size: fewest points a segment may have (the shift must last).
        min_jump: smallest accepted change, in `sigma`.
        min_jump_fine: smallest accepted change, in `sigma_fine`.
        sigma_fine: noise level of the fine series (practical relevance).
    """
    n = len(series)
    if sigma <= 0.0 or n < 2 * min_size + 1:
        return []
    scaled = (series - np.median(series)) / sigma
    # The penalty is a BIC-like 2 log n inflated for the autocorrelation real
    # metrics keep after de-seasonalising; weak breaks are filtered below anyway.
    algorithm = ruptures.Binseg(custom_cost=PrefixSumL2Cost(), min_size=min_size, jump=1)
    algorithm.fit(scaled)
    breakpoints = [b for b in algorithm.predict(pen=8.0 * np.log(n)) if b < n]
    shifts: list[LevelShift] = []
    edges = [0, *breakpoints, n]
    local = max(2, min_size // 3)
    for position, index in enumerate(breakpoints, start=1):
        left = series[edges[position - 1] : index]
        right = series[index : edges[position + 1]]
        before, after = float(np.median(left)), float(np.median(right))
        jump = after - before
        if abs(jump) < min_jump * sigma or abs(jump) < min_jump_fine * sigma_fine:
            continue
        sudden = float(np.median(series[index : index + local])) - float(
            np.median(series[index - local : index])
        )
        if sudden * jump <= 0 or abs(sudden) < 0.6 * abs(jump):
            continue
        shifts.append(LevelShift(index=index, before=before, after=after))
    return shifts


def remove_steps(series: np.ndarray, shifts: list[LevelShift]) -> np.ndarray:
    """Subtract each level shift so only drift and noise remain."""
    result = series.copy()
    for shift in shifts:
        result[shift.index :] -= shift.after - shift.before
    return result


def remove_ramps(series: np.ndarray, ramps: list[Ramp]) -> np.ndarray:
    """Subtract each ramp's straight line (and its total rise after it)."""
    result = series.copy()
    for ramp in ramps:
        length = ramp.end - ramp.start + 1
        result[ramp.start : ramp.end + 1] -= ramp.slope * np.arange(length)
        result[ramp.end + 1 :] -= ramp.slope * (length - 1)
    return result


def rolling_slope(series: np.ndarray, window: int) -> np.ndarray:
    """Centred least-squares slope over `window` points (NaN near the ends)."""
    n = len(series)
    slopes = np.full(n, np.nan)
    if window < 3 or n < window:
        return slopes
    x = np.arange(n, dtype=np.float64)
    cumulative_y = np.concatenate(([0.0], np.cumsum(series)))
    cumulative_xy = np.concatenate(([0.0], np.cumsum(x * series)))
    starts = np.arange(n - window + 1)
    sum_y = cumulative_y[starts + window] - cumulative_y[starts]
    sum_xy = cumulative_xy[starts + window] - cumulative_xy[starts]
    mean_x = starts + (window - 1) / 2.0
    # sum((x - mean_x)^2) over a window of consecutive integers.
    spread = window * (window * window - 1) / 12.0
    slope = (sum_xy - mean_x * sum_y) / spread
    slopes[starts + window // 2] = slope
    return slopes


def find_ramps(
    drift: np.ndarray,
    sigma: float,
    windows: list[int],
    min_length: int,
    min_rise: float,
    max_p_value: float,
) -> list[Ramp]:
    """Sustained drifts: where the rolling slope is steep at some scale, confirmed by tests.

    For each window length the centred least-squares slope is turned into a
    t-like statistic (its standard error for white noise is
    ``sigma * sqrt(12 / window**3)``); points where it passes ``SLOPE_T`` in one
    direction form runs, runs of the same sign closer than the shortest window
    merge, and each merged run is widened by half a window (the slope is
    centred). A run becomes a ramp when it is long enough, Kendall's tau
    against time (the Mann-Kendall test) is significant, and the Theil-Sen rise
    over it is at least `min_rise` sigmas.

    Args:
        drift: coarse de-seasonalised values with level shifts removed.
        sigma: noise level of `drift`.
        windows: rolling-slope window lengths, in points (several scales).
        min_length: fewest points a ramp may span.
        min_rise: smallest accepted total change, in `sigma`.
        max_p_value: largest accepted Mann-Kendall p-value.
    """
    n = len(drift)
    windows = [w for w in windows if 3 <= w <= n - 2]
    if sigma <= 0.0 or not windows or n < min_length + 2:
        return []
    sign = np.zeros(n, dtype=np.int64)
    for window in windows:
        t_value = rolling_slope(drift, window) / (sigma * np.sqrt(12.0 / window**3))
        steep_up = np.nan_to_num(t_value, nan=0.0) >= SLOPE_T
        steep_down = np.nan_to_num(t_value, nan=0.0) <= -SLOPE_T
        sign[steep_up & (sign >= 0)] = 1
        sign[steep_down & (sign <= 0)] = -1
    widen = max(windows) // 2
    merged: list[list[int]] = []
    for run_start, run_end, run_sign in _runs(sign):
        if merged and merged[-1][2] == run_sign and run_start - merged[-1][1] <= min(windows):
            merged[-1][1] = run_end
        else:
            merged.append([run_start, run_end, run_sign])
    ramps: list[Ramp] = []
    for run_start, run_end, run_sign in merged:
        start = max(0, run_start - widen)
        end = min(n - 1, run_end + widen)
        if end - start + 1 < min_length:
            continue
        start = _hinge(drift, max(0, start - widen), min(end, start + 2 * widen), end, onset=True)
        end = _hinge(
            drift, max(start, end - 2 * widen), min(n - 1, end + widen), start, onset=False
        )
        if end - start + 1 < min_length:
            continue
        segment = drift[start : end + 1]
        time = np.arange(len(segment), dtype=np.float64)
        tau = stats.kendalltau(time, segment)
        slope = float(stats.theilslopes(segment, time)[0])
        rise = slope * (len(segment) - 1)
        if (
            np.sign(slope) != run_sign
            or abs(rise) < min_rise * sigma
            or not tau.pvalue <= max_p_value
        ):
            continue
        ramps.append(Ramp(start=start, end=end, rise=rise, slope=slope, p_value=float(tau.pvalue)))
    return _merge_overlapping(drift, ramps)


def _merge_overlapping(drift: np.ndarray, ramps: list[Ramp]) -> list[Ramp]:
    """Join ramps of the same direction whose (widened) spans overlap into one."""
    merged: list[Ramp] = []
    for ramp in sorted(ramps, key=lambda r: r.start):
        last = merged[-1] if merged else None
        if last is None or ramp.start > last.end or np.sign(ramp.rise) != np.sign(last.rise):
            merged.append(ramp)
            continue
        start, end = last.start, max(last.end, ramp.end)
        segment = drift[start : end + 1]
        time = np.arange(len(segment), dtype=np.float64)
        slope = float(stats.theilslopes(segment, time)[0])
        merged[-1] = Ramp(
            start=start,
            end=end,
            rise=slope * (len(segment) - 1),
            slope=slope,
            p_value=min(last.p_value, ramp.p_value),
        )
    return merged


def _hinge(series: np.ndarray, low: int, high: int, anchor: int, onset: bool) -> int:
    """Best bend point in ``[low, high]`` of a flat-then-sloped (or sloped-then-flat) fit.

    The fit spans from the bend candidates to `anchor` plus the flat side, so
    the returned index is where the drift starts (``onset``) or stops.
    """
    if high <= low:
        return low
    first, last = (low, max(anchor, high)) if onset else (min(anchor, low), high)
    y = series[first : last + 1]
    t = np.arange(first, last + 1, dtype=np.float64)
    bends = np.arange(low, high + 1, dtype=np.float64)
    offsets = t[None, :] - bends[:, None]
    ramp = np.maximum(0.0, offsets) if onset else np.minimum(0.0, offsets)
    # Least squares of y on [1, ramp] for every bend at once: the residual sum
    # of squares is var(y) - cov(ramp, y)^2 / var(ramp), all as sums.
    count = len(y)
    ramp_sum = ramp.sum(axis=1)
    ramp_var = (ramp * ramp).sum(axis=1) - ramp_sum**2 / count
    ramp_cov = ramp @ y - ramp_sum * y.sum() / count
    with np.errstate(invalid="ignore", divide="ignore"):
        explained = np.where(ramp_var > 0, ramp_cov**2 / ramp_var, 0.0)
    return int(bends[int(np.argmax(explained))])


def _runs(sign: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, end inclusive, sign) of each run of equal non-zero values."""
    runs: list[tuple[int, int, int]] = []
    changes = np.flatnonzero(np.diff(sign)) + 1
    bounds = [0, *changes.tolist(), len(sign)]
    for start, stop in itertools.pairwise(bounds):
        if sign[start] != 0:
            runs.append((start, stop - 1, int(sign[start])))
    return runs


def overall_trend(drift: np.ndarray, points_per_day: float) -> Trend | None:
    """Theil-Sen slope and Mann-Kendall p-value over the whole series (on daily means if long)."""
    if len(drift) < 8:
        return None
    block = max(1, int(points_per_day)) if len(drift) >= 6 * points_per_day >= 2 else 1
    usable = len(drift) // block * block
    means = drift[:usable].reshape(-1, block).mean(axis=1)
    time = np.arange(len(means), dtype=np.float64) * block + (block - 1) / 2.0
    if float(np.ptp(means)) == 0.0:
        return None
    tau = stats.kendalltau(time, means)
    slope = float(stats.theilslopes(means, time)[0])
    return Trend(slope=slope, p_value=float(np.nan_to_num(tau.pvalue, nan=1.0)))
