"""The analysis of one aligned series: decomposition, then every detector in turn.

Work happens in standardised units (value minus median, divided by a robust
spread) so that series from 0.01 to 1e9 behave the same. A coarse copy of the
series (block medians, at most ~1,500 points) carries the slow analyses: cycles,
level shifts, ramps and trend. The fine grid carries the residual in which
spikes, dips and intermittent bursts are found.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from reference.patterns.alignment import NANOS_PER_SECOND
from reference.patterns.changes import (
    LevelShift,
    Ramp,
    Trend,
    difference_sigma,
    find_level_shifts,
    find_ramps,
    overall_trend,
    remove_ramps,
    remove_steps,
    robust_sigma,
)
from reference.patterns.excursions import Cluster, Excursion, cluster_excursions, find_excursions
from reference.patterns.metric_roles import MetricRole, is_degradation, metric_role
from reference.patterns.models import AnomalyKind, Sensitivity
from reference.patterns.seasonality import (
    SECONDS_PER_DAY,
    SeasonalStructure,
    detect_cycles,
    detect_hourly_cycle,
    period_slots,
    seasonal_component,
)

UPPER_DECILE_Z = 1.2816
"""z of the 90th percentile of a standard normal distribution."""
MIN_POINTS = 12
"""Fewer observed points than this are too few to analyse."""
COARSE_TARGET_POINTS = 1_500
"""The coarse series has at most about this many points (keeps ruptures fast)."""
MAX_ANOMALIES_PER_SERIES = 50
"""Strongest anomalies kept per series; the response must stay small."""
SHORT_EXCURSION_SECONDS = 2 * 3600
"""Excursions up to this long are spikes or dips; longer ones are temporary level shifts."""
MIN_HOURLY_NOISE_RATIO = 0.5
"""Bounds (and inverse) on how much quieter or noisier one hour of day may be than the series."""
DAILY_MAXIMUM_FACTOR = 1.5
"""A spike must exceed the typical day's largest excursion by this factor."""
ROUTINE_SHIFT_DAYS = 2.0
"""More than one level shift per this many days means shifting is routine for the series."""
ROUTINE_SHIFT_FACTOR = 2.0
"""In a routinely shifting series, a shift must be this many times the median shift."""
ROUTINE_SPIKE_DAYS = 2.0
"""More than one isolated spike or dip per this many days means spiking is routine."""
ROUTINE_SPIKES_MIN = 5
"""...and more than this many in all."""
ROUTINE_SPIKE_FACTOR = 2.0
"""In a routinely spiking series, a spike must be this many times the median spike."""
CLUSTER_GAP_SECONDS = 2 * 3600
"""Largest quiet gap inside an intermittent cluster."""
SHIFT_MIN_SECONDS = 3 * 3600
"""A level shift must hold for this long to count."""
RAMP_MIN_SECONDS = 6 * 3600
"""A gradual degradation must last this long."""
MAX_RAMP_SHARE = 0.6
"""A ramp spanning more of the series than this is its trend, not a degradation episode."""
HOLD_HORIZON_SECONDS = 2 * SECONDS_PER_DAY
"""How far after a level shift the analysis looks for the level coming back."""
HOLD_SMOOTHING_SECONDS = 2 * 3600
"""Window of the rolling median through which a shift's return is watched."""
DRIFT_SEGMENT_SECONDS = 3 * SECONDS_PER_DAY
"""Segments between level shifts at least this long have their own steady drift removed."""
DRIFT_MIN_RISE = 3.0
"""A segment's steady drift counts when it rises this many coarse noise deviations in all."""
DRIFT_FIT_POINTS = 240
"""Most points a segment's drift line is fitted on (Theil-Sen is quadratic in the points)."""


def hold_points(series: np.ndarray, shift: LevelShift, horizon: int, window: int) -> int:
    """Coarse points the level after `shift` held before coming back over half of the step.

    Args:
        series: The deseasonalised coarse series.
        shift: The shift (its index and the levels either side).
        horizon: Most points to look at (the answer is at most this).
        window: Points of the rolling median the level is watched through.
    """
    ahead = series[shift.index : shift.index + horizon]
    if len(ahead) == 0:
        return 0
    middle = (shift.before + shift.after) / 2.0
    direction = 1.0 if shift.after >= shift.before else -1.0
    back = np.flatnonzero(direction * (rolling_median(ahead, window) - middle) < 0)
    return int(back[0]) if len(back) else horizon


def segment_drifts(
    series: np.ndarray, bounds: list[int], min_points: int, min_rise: float
) -> np.ndarray:
    """The steady linear drift of each long segment between level shifts, zero-mean per segment.

    A metric that climbs steadily between resets (memory leaking until the next
    restart) does so as its normal behaviour: the climb is neither a cycle nor a
    degradation episode. Removing each long segment's own Theil-Sen line lets
    the cycles show and leaves episodes as departures from the line.

    Args:
        series: The coarse series with level shifts removed.
        bounds: Segment boundaries (coarse indices, first 0, last ``len(series)``).
        min_points: Shortest segment that gets a line.
        min_rise: Smallest total rise of a line that is removed.
    """
    drifts = np.zeros(len(series))
    if len(bounds) <= 2:
        # Without a reset there is no sawtooth: a climb over the whole series is its trend
        # (reported as such), and a late climb is a degradation episode.
        return drifts
    for start, stop in itertools.pairwise(bounds):
        length = stop - start
        if length < max(min_points, 8):
            continue
        stride = max(1, length // DRIFT_FIT_POINTS)
        x = np.arange(0, length, stride, dtype=np.float64)
        slope = float(stats.theilslopes(series[start:stop:stride], x)[0])
        if not math.isfinite(slope) or abs(slope) * length < min_rise:
            continue
        drifts[start:stop] = slope * (np.arange(length) - (length - 1) / 2.0)
    return drifts


@dataclass(frozen=True)
class Thresholds:
    """Detector bounds for one sensitivity, in robust standard deviations."""

    spike: float
    """|z| of an isolated spike or dip."""
    candidate: float
    """|z| of an excursion that may belong to an intermittent cluster."""
    cluster: float
    """Median |z| of the excursions of an intermittent cluster."""
    shift_coarse: float
    """Level change against the coarse noise."""
    shift_fine: float
    """Level change against the point-to-point noise."""
    ramp_rise: float
    """Total rise of a ramp against the point-to-point noise."""
    ramp_p_value: float
    """Largest Mann-Kendall p-value of a ramp."""
    trend_p_value: float
    """Largest Mann-Kendall p-value of a whole-span trend."""


SENSITIVITY_THRESHOLDS: dict[Sensitivity, Thresholds] = {
    "low": Thresholds(
        spike=7.0, candidate=5.0, cluster=6.0, shift_coarse=8.0, shift_fine=3.0, ramp_rise=5.0,
        ramp_p_value=1e-6, trend_p_value=1e-3,
    ),
    "medium": Thresholds(
        spike=5.0, candidate=3.5, cluster=4.25, shift_coarse=6.0, shift_fine=2.0, ramp_rise=3.0,
        ramp_p_value=1e-4, trend_p_value=1e-2,
    ),
    "high": Thresholds(
        spike=4.0, candidate=3.0, cluster=3.5, shift_coarse=4.0, shift_fine=1.5, ramp_rise=2.0,
        ramp_p_value=1e-3, trend_p_value=5e-2,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class FoundAnomaly:
    """An anomaly window on the fine grid."""

    kind: AnomalyKind
    start: int
    end: int
    """Inclusive fine indices."""
    score: float
    change: float = 0.0
    """Signed size of the change in the metric's own units (shifts and ramps)."""


@dataclass
class SeriesFindings:
    """Everything found in one series, in index and standardised terms."""

    name: str
    role: MetricRole
    center: float
    """Median of the raw values."""
    spread: float
    """Robust spread used for standardising (metric units per standardised unit)."""
    coarse_factor: int
    structure: SeasonalStructure = field(default_factory=lambda: SeasonalStructure(None, None))
    shifts: list[tuple[int, LevelShift, float]] = field(default_factory=list)
    """(fine index, shift, magnitude in fine sigmas)."""
    shift_holds: dict[int, float] = field(default_factory=dict)
    """Fine index of a shift -> seconds its new level held (capped at HOLD_HORIZON_SECONDS)."""
    ramps: list[Ramp] = field(default_factory=list)
    trend: Trend | None = None
    trend_significant: bool = False
    anomalies: list[FoundAnomaly] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_units(self, standardised: float) -> float:
        """A standardised level back in the metric's units."""
        return standardised * self.spread + self.center


def standardise(values: np.ndarray) -> tuple[float, float]:
    """Median and a robust spread of the observed values (spread 0 means constant)."""
    center = float(np.median(values))
    q75, q25 = np.percentile(values, [75, 25])
    for spread in (
        (q75 - q25) / 1.349,
        robust_sigma(values),
        1.2533 * float(np.mean(np.abs(values - center))),
    ):
        if spread > 0.0 and math.isfinite(spread):
            return center, float(spread)
    return center, 0.0


def coarse_factor_for(length: int, step_seconds: float) -> int:
    """Block size so the coarse series has at most ~1,500 points, dividing a day when possible."""
    minimum = max(1, math.ceil(length / COARSE_TARGET_POINTS))
    if step_seconds > 0 and float(step_seconds).is_integer():
        step = int(step_seconds)
        for factor in range(minimum, minimum * 2 + 1):
            if SECONDS_PER_DAY % (factor * step) == 0:
                return factor
    return minimum


def block_medians(values: np.ndarray, factor: int) -> np.ndarray:
    """Medians of consecutive blocks of `factor` values (the last block may be shorter).

    Medians, not means: bursts that cover less than half of each block (an
    intermittent failure) must not lift the coarse level, or the whole
    episode would read as a level shift and hide the bursts.
    """
    if factor == 1:
        return values.copy()
    full = len(values) // factor * factor
    medians = np.median(values[:full].reshape(-1, factor), axis=1)
    if full < len(values):
        medians = np.append(medians, np.median(values[full:]))
    return medians


def rolling_median(values: np.ndarray, window: int) -> np.ndarray:
    """Centred rolling median that shrinks at the edges."""
    window = max(1, min(window, len(values)))
    return pd.Series(values).rolling(window, center=True, min_periods=1).median().to_numpy()


def side_scaled(residual: np.ndarray, observed: np.ndarray, floor: float) -> np.ndarray:
    """Robust z-scores with a separate scale above and below the median.

    Latencies, error rates and counts are skewed: their upper tail is longer
    than the lower one, so one symmetric MAD would call ordinary high values
    spikes. Each side's scale comes from its own decile (10% contamination
    leaves it intact), floored to avoid dividing by zero on flat stretches.
    """
    values = residual[observed]
    low, middle, high = np.percentile(values, [10, 50, 90])
    upper = max((high - middle) / UPPER_DECILE_Z, floor)
    lower = max((middle - low) / UPPER_DECILE_Z, floor)
    centred = residual - middle
    return np.where(centred >= 0, centred / upper, centred / lower)


def hourly_noise_ratio(
    residual: np.ndarray, observed: np.ndarray, instants_ns: np.ndarray
) -> np.ndarray:
    """Noise level of each point's hour of day relative to the whole series.

    Metrics with a daily cycle are usually noisier at the peak than at night
    (noise grows with load); dividing by this ratio keeps ordinary peak-hour
    noise from looking like spikes and lets night-time spikes stand out.
    """
    hours = period_slots(instants_ns, 3600, SECONDS_PER_DAY)
    overall = robust_sigma(residual[observed])
    if overall <= 0.0:
        return np.ones(len(residual))
    frame = pd.DataFrame({"hour": hours[observed], "value": residual[observed]})
    spread = frame.groupby("hour")["value"].agg(robust_sigma)
    ratio = np.ones(24)
    ratio[spread.index.to_numpy()] = spread.to_numpy() / overall
    return np.clip(ratio, MIN_HOURLY_NOISE_RATIO, 1.0 / MIN_HOURLY_NOISE_RATIO)[hours]


def typical_daily_maximum(z: np.ndarray, step_seconds: float) -> float:
    """Median over whole days of the day's largest |z| (0 with fewer than 3 days).

    What happens every day is part of normal behaviour: a nightly batch job
    that spikes the CPU every night is not an anomaly, however tall.
    """
    per_day = int(SECONDS_PER_DAY // step_seconds) if step_seconds > 0 else 0
    days = len(z) // per_day if per_day else 0
    if days < 3 or per_day < 4:
        return 0.0
    daily = np.nan_to_num(np.abs(z[: days * per_day]), nan=0.0).reshape(days, per_day)
    return float(np.median(daily.max(axis=1)))


def _segment_levels(values: np.ndarray, bounds: list[int], window: int) -> np.ndarray:
    """Rolling median computed separately inside each segment, so shifts stay sharp."""
    levels = np.empty_like(values)
    for start, stop in itertools.pairwise(bounds):
        levels[start:stop] = rolling_median(values[start:stop], window)
    return levels


def _refine_shift(series: np.ndarray, guess: int, radius: int) -> int:
    """Fine index near `guess` where the mean on either side differs most."""
    n = len(series)
    low, high = max(1, guess - radius), min(n - 1, guess + radius)
    if high <= low:
        return guess
    cumulative = np.concatenate(([0.0], np.cumsum(series)))
    width = max(radius, 1)
    best, best_gap = guess, -1.0
    for split in range(low, high + 1):
        left_start, right_stop = max(0, split - width), min(n, split + width)
        left = (cumulative[split] - cumulative[left_start]) / (split - left_start)
        right = (cumulative[right_stop] - cumulative[split]) / (right_stop - split)
        gap = abs(right - left)
        if gap > best_gap:
            best, best_gap = split, gap
    return best


def _coarse_cycles(
    coarse: np.ndarray, instants_ns: np.ndarray, step_seconds: float
) -> SeasonalStructure:
    """Daily and weekly cycles of the coarse series (none when its step is fractional)."""
    if not float(step_seconds).is_integer():
        return SeasonalStructure(daily=None, weekly=None)
    return detect_cycles(coarse, instants_ns, int(step_seconds))


def _coarse_seasonal(
    structure: SeasonalStructure, instants_ns: np.ndarray, step_seconds: float
) -> np.ndarray:
    """The daily and weekly profiles evaluated at the coarse instants."""
    seasonal = np.zeros(len(instants_ns))
    if structure.weekly is not None:
        slots = period_slots(instants_ns, int(step_seconds), 7 * SECONDS_PER_DAY)
        seasonal += structure.weekly.profile[slots]
    if structure.daily is not None:
        slots = period_slots(instants_ns, int(step_seconds), SECONDS_PER_DAY)
        seasonal += structure.daily.profile[slots]
    return seasonal


def analyse_series(
    name: str,
    values: np.ndarray,
    start_ns: int,
    step_ns: int,
    sensitivity: Sensitivity,
) -> SeriesFindings:
    """Run every detector on one series of the aligned grid.

    Args:
        name: the metric's name (read for its role).
        values: float64 on the grid, NaN where no sample fell.
        start_ns: instant of the first slot.
        step_ns: grid step.
        sensitivity: which threshold set to use.
    """
    thresholds = SENSITIVITY_THRESHOLDS[sensitivity]
    role = metric_role(name)
    observed = np.isfinite(values)
    n = len(values)
    step_seconds = step_ns / NANOS_PER_SECOND
    if observed.sum() < MIN_POINTS:
        findings = SeriesFindings(name, role, 0.0, 1.0, 1)
        findings.notes.append(
            f"{name}: only {int(observed.sum())} observed points; at least {MIN_POINTS} are "
            "needed to analyse a series"
        )
        return findings
    center, spread = standardise(values[observed])
    factor = coarse_factor_for(n, step_seconds)
    findings = SeriesFindings(name, role, center, spread if spread > 0 else 1.0, factor)
    if spread == 0.0:
        findings.notes.append(f"{name}: constant at {center:g}; nothing to detect")
        return findings

    index = np.arange(n)
    scaled = (values - center) / spread
    filled = np.interp(index, index[observed], scaled[observed])
    instants = start_ns + index.astype(np.int64) * step_ns

    coarse = block_medians(filled, factor)
    coarse_step_seconds = step_seconds * factor
    coarse_instants = start_ns + np.arange(len(coarse), dtype=np.int64) * step_ns * factor
    per_day = SECONDS_PER_DAY / coarse_step_seconds
    hourly = detect_hourly_cycle(filled, step_seconds)
    level_window = (
        max(3, round(per_day)) if len(coarse) >= 3 * per_day else max(3, len(coarse) // 4)
    )
    spread_floor = max(0.01 * float(np.ptp(np.percentile(scaled[observed], [1, 99]))), 1e-9)
    coarse_centres = (np.arange(len(coarse)) * factor + (factor - 1) / 2.0).clip(max=n - 1)
    min_size = max(3, math.ceil(SHIFT_MIN_SECONDS / coarse_step_seconds))

    def decompose(
        cycle_input: np.ndarray,
    ) -> tuple[SeasonalStructure, np.ndarray, float, np.ndarray, float, list[LevelShift]]:
        """Cycles from `cycle_input`, then noise levels and level shifts of the coarse series."""
        found = _coarse_cycles(cycle_input, coarse_instants, coarse_step_seconds)
        structure = SeasonalStructure(daily=found.daily, weekly=found.weekly, hourly=hourly)
        deseasonalised = coarse - _coarse_seasonal(structure, coarse_instants, coarse_step_seconds)
        coarse_sigma = max(
            difference_sigma(deseasonalised),
            robust_sigma(deseasonalised - rolling_median(deseasonalised, level_window)),
            spread_floor / math.sqrt(factor),
        )
        # A level that ignores shifts, only to measure point-level noise.
        level = np.interp(index, coarse_centres, rolling_median(deseasonalised, level_window))
        seasonal = seasonal_component(structure, instants, filled - level, step_seconds)
        fine_sigma = max(robust_sigma((scaled - level - seasonal)[observed]), spread_floor)
        shifts = find_level_shifts(
            deseasonalised,
            coarse_sigma,
            min_size,
            thresholds.shift_coarse,
            thresholds.shift_fine,
            fine_sigma,
        )
        return structure, deseasonalised, coarse_sigma, seasonal, fine_sigma, shifts

    structure, deseasonalised, coarse_sigma, seasonal, fine_sigma, shifts = decompose(coarse)
    drift_points = math.ceil(DRIFT_SEGMENT_SECONDS / coarse_step_seconds)
    if shifts:
        # Big steps (a restart, an outage) and the steady climbs between them
        # swamp the autocorrelation of a weaker cycle: look for cycles again
        # with the steps and the climbs taken out.
        unstepped = remove_steps(deseasonalised, shifts)
        steps = deseasonalised - unstepped
        bounds = [0, *[shift.index for shift in shifts], len(coarse)]
        climbs = segment_drifts(unstepped, bounds, drift_points, DRIFT_MIN_RISE * coarse_sigma)
        structure, deseasonalised, coarse_sigma, seasonal, fine_sigma, shifts = decompose(
            coarse - steps - climbs
        )
    findings.structure = structure

    fine_bounds = [0]
    kept_shifts: list[LevelShift] = []
    for shift in shifts:
        guess = shift.index * factor
        fine_index = _refine_shift(filled - seasonal, guess, factor * 2)
        if fine_index <= fine_bounds[-1]:
            # Two coarse breaks refined onto the same instant are one shift.
            continue
        magnitude = abs(shift.after - shift.before) / fine_sigma
        findings.shifts.append((fine_index, shift, magnitude))
        held = hold_points(
            deseasonalised,
            shift,
            math.ceil(HOLD_HORIZON_SECONDS / coarse_step_seconds),
            max(3, round(HOLD_SMOOTHING_SECONDS / coarse_step_seconds)),
        )
        findings.shift_holds[fine_index] = min(HOLD_HORIZON_SECONDS, held * coarse_step_seconds)
        fine_bounds.append(fine_index)
        kept_shifts.append(shift)
    shifts = kept_shifts
    fine_bounds.append(n)
    coarse_bounds = [0, *[shift.index for shift in shifts], len(coarse)]

    # Second pass: levels per segment, then the residual the excursions live in.
    segment_level = _segment_levels(deseasonalised, coarse_bounds, level_window)
    level = np.empty(n)
    for (c_start, c_stop), (f_start, f_stop) in zip(
        itertools.pairwise(coarse_bounds),
        itertools.pairwise(fine_bounds),
        strict=True,
    ):
        level[f_start:f_stop] = np.interp(
            index[f_start:f_stop], coarse_centres[c_start:c_stop], segment_level[c_start:c_stop]
        )
    seasonal = seasonal_component(structure, instants, filled - level, step_seconds)
    residual = scaled - level - seasonal
    fine_sigma = max(robust_sigma(residual[observed]), spread_floor)
    if structure.daily is not None:
        residual = residual / hourly_noise_ratio(residual, observed, instants)
    z = side_scaled(residual, observed, spread_floor)

    drift = remove_steps(deseasonalised, shifts)
    # Ramps are departures from each long segment's steady drift (see segment_drifts).
    local_drift = drift - segment_drifts(
        drift, coarse_bounds, drift_points, DRIFT_MIN_RISE * coarse_sigma
    )
    day_points = max(5, round(per_day))
    ramp_windows = (
        [day_points, 4 * day_points] if len(coarse) >= 4 * per_day else [max(5, len(coarse) // 6)]
    )
    ramp_min = max(min(ramp_windows), math.ceil(RAMP_MIN_SECONDS / coarse_step_seconds))
    for ramp in find_ramps(
        local_drift,
        coarse_sigma,
        ramp_windows,
        ramp_min,
        thresholds.ramp_rise,
        thresholds.ramp_p_value,
    ):
        # A ramp over most of the span is the series' trend, reported as such.
        local = ramp.end - ramp.start + 1 <= MAX_RAMP_SHARE * len(coarse)
        if local and abs(ramp.rise) >= thresholds.ramp_rise * fine_sigma:
            findings.ramps.append(ramp)

    # A trend over the whole span must hold beyond the ramps already reported.
    findings.trend = overall_trend(remove_ramps(drift, findings.ramps), per_day)
    if findings.trend is not None:
        total = abs(findings.trend.slope) * len(drift)
        findings.trend_significant = (
            findings.trend.p_value <= thresholds.trend_p_value
            and total >= 2.0 * coarse_sigma
            and total >= fine_sigma
        )

    findings.anomalies = _anomalies(findings, z, n, factor, step_seconds, thresholds, fine_sigma)
    return findings


def _anomalies(
    findings: SeriesFindings,
    z: np.ndarray,
    n: int,
    factor: int,
    step_seconds: float,
    thresholds: Thresholds,
    fine_sigma: float,
) -> list[FoundAnomaly]:
    """Turn shifts, ramps and residual excursions into anomaly windows."""
    found: list[FoundAnomaly] = []
    explained = np.zeros(n, dtype=bool)
    span_days = n * step_seconds / SECONDS_PER_DAY
    magnitudes = [magnitude for _, _, magnitude in findings.shifts]
    # A series that switches level several times a week (a batch worker
    # going on and off) shows its normal behaviour: only outsized shifts count.
    routine = len(magnitudes) > max(2.0, span_days / ROUTINE_SHIFT_DAYS)
    shift_floor = ROUTINE_SHIFT_FACTOR * float(np.median(magnitudes)) if routine else 0.0
    for fine_index, shift, magnitude in findings.shifts:
        explained[max(0, fine_index - factor) : min(n, fine_index + factor + 1)] = True
        if magnitude < shift_floor:
            continue
        end = min(n - 1, fine_index + factor)
        change = (shift.after - shift.before) * findings.spread
        found.append(FoundAnomaly("level_shift", fine_index, end, magnitude, change))
    for ramp in findings.ramps:
        change = ramp.rise * findings.spread
        if not is_degradation(findings.role, change):
            continue
        start, end = ramp.start * factor, min(n - 1, (ramp.end + 1) * factor - 1)
        found.append(
            FoundAnomaly("gradual_degradation", start, end, abs(ramp.rise) / fine_sigma, change)
        )

    max_gap = 2
    spike_threshold = max(
        thresholds.spike, DAILY_MAXIMUM_FACTOR * typical_daily_maximum(z, step_seconds)
    )
    excursions = [
        excursion
        for excursion in find_excursions(z, thresholds.candidate, max_gap)
        if not explained[excursion.start : excursion.end + 1].any()
    ]
    cluster_gap = max(3, math.ceil(CLUSTER_GAP_SECONDS / step_seconds))
    clusters, isolated = cluster_excursions(excursions, n, cluster_gap)
    # A cluster of barely-over-the-bound excursions is what noise looks like once in a while
    # over months of minutes; an intermittent failure's bursts are much taller. The members of
    # a cluster too weak to report still face the spike test on their own.
    for cluster in clusters:
        if cluster.score >= thresholds.cluster:
            found.append(_cluster_anomaly(cluster))
        else:
            isolated.extend(e for e in excursions if cluster.start <= e.start <= cluster.end)
    short_points = max(3, math.ceil(SHORT_EXCURSION_SECONDS / step_seconds))
    spikes = [
        _excursion_anomaly(excursion, short_points)
        for excursion in isolated
        if abs(excursion.peak) >= spike_threshold
    ]
    short = [anomaly.score for anomaly in spikes if anomaly.kind in ("spike", "dip")]
    if len(short) > max(ROUTINE_SPIKES_MIN, span_days / ROUTINE_SPIKE_DAYS):
        # A series that spikes every day or two (a batch job, a cron) shows its normal
        # behaviour: only spikes far taller than its usual ones are news.
        floor = ROUTINE_SPIKE_FACTOR * float(np.median(short))
        spikes = [a for a in spikes if a.kind not in ("spike", "dip") or a.score >= floor]
    found.extend(spikes)
    found.sort(key=lambda anomaly: anomaly.score, reverse=True)
    kept = found[:MAX_ANOMALIES_PER_SERIES]
    kept.sort(key=lambda anomaly: (anomaly.start, anomaly.end))
    return kept


def _cluster_anomaly(cluster: Cluster) -> FoundAnomaly:
    """An intermittent window from a cluster of excursions."""
    return FoundAnomaly("intermittent", cluster.start, cluster.end, cluster.score)


def _excursion_anomaly(excursion: Excursion, short_points: int) -> FoundAnomaly:
    """A spike, dip or (when long) temporary level shift from one excursion."""
    if excursion.end - excursion.start + 1 > short_points:
        kind: AnomalyKind = "level_shift"
    else:
        kind = "spike" if excursion.peak > 0 else "dip"
    return FoundAnomaly(kind, excursion.start, excursion.end, abs(excursion.peak))
