"""Window-level precision, recall and F1 of reported windows against labelled windows.

A labelled window counts as detected when any reported window overlaps it; a
reported window is true when it overlaps a labelled window. Intervals are
closed: touching ends overlap. Counting labels and reports separately (rather
than one-to-one matching) means one long report covering two labels detects
both, and two reports inside one label are both true: the question asked of a
report is "did it point at something real", of a label "was it seen".
"""

from __future__ import annotations

from dataclasses import dataclass

Interval = tuple[float, float]
"""(start, end) in seconds since the epoch, end inclusive."""


def overlaps(a: Interval, b: Interval) -> bool:
    """Whether two closed intervals share at least one instant.

    Args:
        a: One interval.
        b: The other.
    """
    return a[0] <= b[1] and b[0] <= a[1]


@dataclass(frozen=True)
class WindowScore:
    """Counts behind window precision and recall (they add up over series)."""

    labelled: int
    detected: int
    reported: int
    true_reports: int

    @property
    def precision(self) -> float | None:
        """Share of reports that overlap a labelled window (None without reports)."""
        return self.true_reports / self.reported if self.reported else None

    @property
    def recall(self) -> float | None:
        """Share of labelled windows overlapped by a report (None without labels)."""
        return self.detected / self.labelled if self.labelled else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall (None when either is undefined)."""
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def __add__(self, other: WindowScore) -> WindowScore:
        return WindowScore(
            self.labelled + other.labelled,
            self.detected + other.detected,
            self.reported + other.reported,
            self.true_reports + other.true_reports,
        )


EMPTY_SCORE = WindowScore(0, 0, 0, 0)
"""The score of nothing labelled and nothing reported (the identity of ``+``)."""


def score_windows(labels: list[Interval], reports: list[Interval]) -> WindowScore:
    """Score reported windows against the labelled windows of one series.

    Args:
        labels: The true windows.
        reports: The reported windows.
    """
    detected = sum(any(overlaps(label, report) for report in reports) for label in labels)
    true_reports = sum(any(overlaps(report, label) for label in labels) for report in reports)
    return WindowScore(len(labels), detected, len(reports), true_reports)
