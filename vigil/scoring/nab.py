"""The NAB score: anomaly windows, the scaled sigmoid, a cost profile, normalised.

Implemented from the published description of the Numenta Anomaly Benchmark
(Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms -- the
Numenta Anomaly Benchmark", IEEE ICMLA 2015, section on scoring; the scorer of
github.com/numenta/NAB, commit ea702d7, ``nab/sweeper.py``; the cost profiles of
its ``config/profiles.json``). For one series of ``rows`` rows:

* Every labelled window is a range of rows. A window with a detection scores
  its *earliest* detection only: ``A_TP * sigma(y) / sigma(-1)``, where ``y`` is
  the detection's position relative to the window's right end, in window
  widths (-1 at the first row of the window, about 0 at the last) and
  ``sigma(y) = 2 / (1 + exp(5 y)) - 1``, the scaled sigmoid. A detection at the
  window's start earns ``A_TP``; a late one earns less. Later detections in the
  same window earn nothing and cost nothing.
* A window without a detection costs ``-A_FN``.
* A detection outside every window is a false positive and costs
  ``A_FP * sigma(y)`` (negative): ``y`` is its distance after the preceding
  window's right end in that window's widths (``sigma = -1`` beyond 3 widths),
  and ``sigma = -1`` when no window precedes it. A false positive just after a
  window is cheap, one far from any is charged the full ``A_FP``.
* Rows in the probationary period (the first ``min(floor(0.15 rows), 750)``
  rows) are not scored at all: neither their detections nor windows that lie
  wholly inside it.

The corpus score is normalised between the null detector (no detections:
``-A_FN`` per window) and the perfect detector (``A_TP`` per labelled window,
every window detected at its first row), as ``100 (raw - null) / (perfect -
null)``: 0 is the null detector, 100 the perfect one. The standard profile is
``A_TP = 1``, ``A_FP = 0.11`` (so a false positive far from any window costs
-0.11), ``A_FN = 1``, as published in NAB's ``config/profiles.json``.

NAB detectors emit a score per row and NAB picks each detector's best
threshold over the corpus; the detectors scored here emit binary detections,
so there is no threshold to pick.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PROBATION_PERCENT = 0.15
"""Share of a series (at most 750 rows) NAB leaves to a detector to learn before scoring."""
PROBATION_MAX_ROWS = 750
"""NAB caps the probationary period at ``0.15 * 5000`` rows."""
FAR_BEHIND_WINDOWS = 3.0
"""A false positive this many window widths after a window is charged in full."""


@dataclass(frozen=True)
class CostProfile:
    """The weights of a NAB application profile (all given as positive numbers)."""

    tp_weight: float
    fp_weight: float
    fn_weight: float


STANDARD_PROFILE = CostProfile(tp_weight=1.0, fp_weight=0.11, fn_weight=1.0)
"""NAB's standard profile (``config/profiles.json``: tpWeight 1.0, fpWeight 0.11, fnWeight 1.0)."""
REWARD_LOW_FP_PROFILE = CostProfile(tp_weight=1.0, fp_weight=0.22, fn_weight=1.0)
"""NAB's ``reward_low_FP_rate`` profile."""
REWARD_LOW_FN_PROFILE = CostProfile(tp_weight=1.0, fp_weight=0.11, fn_weight=2.0)
"""NAB's ``reward_low_FN_rate`` profile."""

RowWindow = tuple[int, int]
"""(first row, last row) of a labelled window, both inclusive."""


def scaled_sigmoid(position: float) -> float:
    """NAB's scaled sigmoid: 1 well before a window's end, 0 at it, -1 well after.

    Args:
        position: Position relative to a window's right end, in window widths.
    """
    if position > FAR_BEHIND_WINDOWS:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probationary_rows(rows: int) -> int:
    """Rows at the start of a series that NAB does not score.

    Args:
        rows: Length of the series.
    """
    return int(min(math.floor(PROBATION_PERCENT * rows), PROBATION_MAX_ROWS))


@dataclass(frozen=True)
class NabSeriesScore:
    """The raw NAB score of one series and the counts behind it."""

    raw: float
    """Sum of the true-positive rewards, the missed-window costs and the false-positive costs."""
    windows: int
    """Labelled windows (perfect = ``A_TP`` times this)."""
    scored_windows: int
    """Windows not wholly inside the probationary period (null = ``-A_FN`` times this)."""
    detected_windows: int
    false_positives: int


def score_series(
    rows: int,
    windows: Sequence[RowWindow],
    detections: Iterable[int],
    profile: CostProfile = STANDARD_PROFILE,
) -> NabSeriesScore:
    """The raw NAB score of binary detections on one series.

    Args:
        rows: Number of rows of the series.
        windows: The labelled windows as row ranges, in order, not overlapping.
        detections: Rows at which the detector raised an alarm (any order, repeats ignored).
        profile: The cost profile.
    """
    ordered = sorted(windows)
    for (_, first_end), (second_start, _) in itertools.pairwise(ordered):
        if second_start <= first_end:
            raise ValueError(f"NAB windows overlap: {ordered}; merge them first")
    probation = probationary_rows(rows)
    max_tp = scaled_sigmoid(-1.0)
    # A window counts when any of its rows is past probation (NAB names rows, not windows).
    scored = [window for window in ordered if window[1] >= probation]
    best: dict[RowWindow, float] = {}
    fp_cost = 0.0
    false_positives = 0
    for row in sorted({int(d) for d in detections if probation <= int(d) < rows}):
        inside = next((w for w in scored if w[0] <= row <= w[1]), None)
        if inside is not None:
            width = inside[1] - inside[0] + 1
            reward = profile.tp_weight * scaled_sigmoid(-(inside[1] - row + 1) / width) / max_tp
            best[inside] = max(best.get(inside, -math.inf), reward)
            continue
        false_positives += 1
        before = [w for w in ordered if w[1] < row]
        if not before:
            fp_cost += -1.0 * profile.fp_weight
            continue
        previous = before[-1]
        width = previous[1] - previous[0] + 1
        # NAB divides by (width - 1); a one-row window would divide by zero, so it is charged
        # as if the false positive were far behind it.
        distance = (row - previous[1]) / (width - 1) if width > 1 else math.inf
        fp_cost += scaled_sigmoid(distance) * profile.fp_weight
    missed = len(scored) - len(best)
    raw = sum(best.values()) - missed * profile.fn_weight + fp_cost
    return NabSeriesScore(
        raw=raw,
        windows=len(ordered),
        scored_windows=len(scored),
        detected_windows=len(best),
        false_positives=false_positives,
    )


def normalised_score(
    series: Iterable[NabSeriesScore], profile: CostProfile = STANDARD_PROFILE
) -> float:
    """The corpus NAB score: 0 for the null detector, 100 for the perfect one.

    Args:
        series: The raw scores of every series of the corpus.
        profile: The cost profile the raw scores were computed with.

    Raises:
        ValueError: When the corpus has no labelled window (the score is undefined).
    """
    scores = list(series)
    raw = sum(score.raw for score in scores)
    null = -profile.fn_weight * sum(score.scored_windows for score in scores)
    perfect = profile.tp_weight * sum(score.windows for score in scores)
    if perfect == null:
        raise ValueError("the NAB score needs at least one labelled window in the corpus")
    return 100.0 * (raw - null) / (perfect - null)
