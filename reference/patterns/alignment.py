"""Put irregular request samples on one evenly spaced grid.

Real exports arrive unsorted, with repeated instants and missing steps. The
analyses downstream need a regular grid, so: sort, average the values that
share an instant, infer the step as the median gap, snap every instant to its
nearest step and average what lands on the same slot. Empty slots stay NaN and
are counted; they are filled only for the analyses that cannot skip them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NANOS_PER_SECOND = 1_000_000_000
MAX_GRID_GROWTH = 4
"""The grid may hold at most this many slots per distinct input instant."""


@dataclass(frozen=True)
class AlignedSeries:
    """Every series of a request on a shared regular grid."""

    start_ns: int
    """Instant of slot 0, nanoseconds since the epoch."""
    step_ns: int
    """Grid step in nanoseconds (at least 1)."""
    values: dict[str, np.ndarray]
    """Series name -> float64 array on the grid, NaN where no sample fell."""
    missing_steps: int
    """Empty slots in the grid."""
    duplicate_timestamps: int
    """Input values that repeated an instant already seen."""
    input_step_ns: int
    """Median gap between distinct input instants (before any coarsening)."""

    @property
    def length(self) -> int:
        """Number of grid slots."""
        return len(next(iter(self.values.values())))

    def instants_ns(self) -> np.ndarray:
        """Instant of every slot, int64 nanoseconds since the epoch."""
        return self.start_ns + np.arange(self.length, dtype=np.int64) * self.step_ns


def align_series(timestamps_ns: np.ndarray, series: dict[str, list[float]]) -> AlignedSeries:
    """Sort, de-duplicate and grid the series sampled at `timestamps_ns`.

    Args:
        timestamps_ns: int64 instants, one per value, in any order.
        series: name -> values, each as long as `timestamps_ns`.
    """
    order = np.argsort(timestamps_ns, kind="stable")
    instants = timestamps_ns[order]
    distinct, inverse = np.unique(instants, return_inverse=True)
    duplicates = len(instants) - len(distinct)

    gaps = np.diff(distinct)
    input_step = int(np.median(gaps)) if len(gaps) else NANOS_PER_SECOND
    input_step = max(input_step, 1)
    span = int(distinct[-1] - distinct[0]) if len(distinct) else 0
    # A few far-apart outliers among dense samples would make the grid explode;
    # coarsen the step so the grid stays proportional to the data received.
    step = input_step
    slot_cap = MAX_GRID_GROWTH * max(len(distinct), 1)
    if span // step + 1 > slot_cap:
        step = span // (slot_cap - 1) + 1

    slots = np.rint((distinct - distinct[0]) / step).astype(np.int64) if len(distinct) else distinct
    length = int(slots[-1]) + 1 if len(slots) else 0
    slot_of_value = slots[inverse]
    counts = np.bincount(slot_of_value, minlength=length).astype(np.float64)
    empty = counts == 0
    aligned: dict[str, np.ndarray] = {}
    for name, raw in series.items():
        values = np.asarray(raw, dtype=np.float64)[order]
        sums = np.bincount(slot_of_value, weights=values, minlength=length)
        with np.errstate(invalid="ignore", divide="ignore"):
            grid = sums / counts
        grid[empty] = np.nan
        aligned[name] = grid
    return AlignedSeries(
        start_ns=int(distinct[0]) if len(distinct) else 0,
        step_ns=int(step),
        values=aligned,
        missing_steps=int(empty.sum()),
        duplicate_timestamps=int(duplicates),
        input_step_ns=input_step,
    )
