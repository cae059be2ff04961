"""Window precision, recall and F1 by overlap."""

from __future__ import annotations

from vigil.scoring.windows import EMPTY_SCORE, WindowScore, overlaps, score_windows


def test_closed_intervals_overlap_when_they_touch() -> None:
    assert overlaps((0, 10), (10, 20))
    assert not overlaps((0, 10), (10.5, 20))


def test_one_long_report_detects_two_labels_and_two_reports_in_one_label_are_true() -> None:
    score = score_windows([(0, 10), (20, 30)], [(5, 25)])
    assert (score.detected, score.true_reports, score.recall, score.precision) == (2, 1, 1.0, 1.0)
    split = score_windows([(0, 10)], [(1, 2), (3, 4), (50, 60)])
    assert (split.detected, split.true_reports) == (1, 2)
    assert split.precision == 2 / 3 and split.f1 == 0.8


def test_undefined_ratios_are_none_and_scores_add_up() -> None:
    assert EMPTY_SCORE.precision is None and EMPTY_SCORE.recall is None and EMPTY_SCORE.f1 is None
    nothing_found = score_windows([(0, 10)], [])
    assert nothing_found.precision is None and nothing_found.f1 is None
    assert score_windows([(0, 10)], [(20, 30)]).f1 == 0.0
    total = score_windows([(0, 10)], [(0, 1)]) + score_windows([(5, 6)], [(9, 9)])
    assert total == WindowScore(labelled=2, detected=1, reported=2, true_reports=1)
