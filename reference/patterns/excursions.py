"""Short excursions of the residual: spikes, dips, and intermittent clusters of them.

Points whose robust z-score (median/MAD of the residual after level, trend and
cycles are removed) passes a bound are merged into windows when they are close
together. Windows that crowd together much more densely than excursions
usually occur in the series are reported as one ``intermittent`` window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_CLUSTER_SIZE = 3
"""Excursions needed to call a cluster intermittent."""
MAX_CHANCE_CLUSTERS = 0.01
"""Expected number of equally dense clusters in the series if excursions were random."""


@dataclass(frozen=True)
class Excursion:
    """A run of residual points beyond a bound, on the fine grid."""

    start: int
    end: int
    """Inclusive fine indices."""
    peak: float
    """Signed z-score of the point furthest from normal."""


@dataclass(frozen=True)
class Cluster:
    """Excursions close together: an intermittent failure."""

    start: int
    end: int
    members: int
    score: float


def find_excursions(z: np.ndarray, threshold: float, max_gap: int) -> list[Excursion]:
    """Windows of points with ``|z| >= threshold``, merging those at most `max_gap` apart.

    Args:
        z: robust z-scores on the fine grid (NaN where there was no data).
        threshold: smallest |z| that counts.
        max_gap: empty points allowed inside one window.
    """
    magnitude = np.nan_to_num(np.abs(z), nan=0.0)
    hits = np.flatnonzero(magnitude >= threshold)
    if len(hits) == 0:
        return []
    breaks = np.flatnonzero(np.diff(hits) > max_gap + 1) + 1
    excursions = []
    for group in np.split(hits, breaks):
        strongest = group[int(np.argmax(magnitude[group]))]
        excursions.append(
            Excursion(start=int(group[0]), end=int(group[-1]), peak=float(z[strongest]))
        )
    return excursions


def cluster_excursions(
    excursions: list[Excursion], length: int, max_gap: int
) -> tuple[list[Cluster], list[Excursion]]:
    """Split excursions into dense clusters (intermittent) and the isolated rest.

    Two neighbours join when the gap between them is at most `max_gap` and at
    most a quarter of the series' average spacing between excursions, so
    excursions that recur regularly as part of normal behaviour do not cluster.

    Args:
        excursions: in time order.
        length: points in the series (to measure the usual spacing).
        max_gap: largest gap, in points, inside a cluster.
    """
    if len(excursions) < MIN_CLUSTER_SIZE:
        return [], list(excursions)
    usual_spacing = length / len(excursions)
    gap_limit = min(max_gap, usual_spacing / 4.0)
    groups: list[list[Excursion]] = [[excursions[0]]]
    for excursion in excursions[1:]:
        if excursion.start - groups[-1][-1].end <= gap_limit:
            groups[-1].append(excursion)
        else:
            groups.append([excursion])
    clusters: list[Cluster] = []
    isolated: list[Excursion] = []
    rate = len(excursions) / max(length, 1)
    starts = np.array([excursion.start for excursion in excursions])
    for group in groups:
        duration = group[-1].end - group[0].start + 1 + gap_limit
        # How surprising is this many excursions in this little time, at the
        # series' own excursion rate? Scaled by how many such windows the
        # series holds, so long series do not produce clusters by chance.
        chance = stats.poisson.sf(len(group) - 1, rate * duration) * length / duration
        # Regular trains of excursions (two spikes every 8 hours) are not
        # Poisson; for them, compare with the densest window elsewhere.
        densest = _densest_elsewhere(starts, group[0].start, group[-1].end, duration)
        denser_than_ever = densest >= 2 and len(group) >= 2 * densest
        if len(group) >= MIN_CLUSTER_SIZE and (chance <= MAX_CHANCE_CLUSTERS or denser_than_ever):
            peaks = np.abs([member.peak for member in group])
            clusters.append(
                Cluster(
                    start=group[0].start,
                    end=group[-1].end,
                    members=len(group),
                    score=float(np.median(peaks)),
                )
            )
        else:
            isolated.extend(group)
    return clusters, isolated


def _densest_elsewhere(starts: np.ndarray, first: int, last: int, duration: int) -> int:
    """Most excursion starts in any window of `duration` points outside ``[first, last]``."""
    outside = starts[(starts < first) | (starts > last)]
    if len(outside) == 0:
        return 0
    counts = np.searchsorted(outside, outside + duration, side="left") - np.arange(len(outside))
    return int(counts.max())
