"""The NAB scorer against small cases worked out by hand.

The scaled sigmoid is ``2 / (1 + exp(5y)) - 1 = tanh(-5y / 2)``; every expected
value below is that formula evaluated by hand for the positions stated.
"""

from __future__ import annotations

import pytest

from vigil.scoring.nab import (
    STANDARD_PROFILE,
    CostProfile,
    NabSeriesScore,
    normalised_score,
    probationary_rows,
    scaled_sigmoid,
    score_series,
)

ROWS = 1000  # probation: floor(0.15 * 1000) = 150 rows
WINDOW = (400, 499)  # 100 rows wide


def test_standard_profile_is_the_published_one() -> None:
    assert CostProfile(tp_weight=1.0, fp_weight=0.11, fn_weight=1.0) == STANDARD_PROFILE


def test_scaled_sigmoid_at_its_landmarks() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.9866143)  # tanh(2.5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(3.0) == pytest.approx(-0.9999997)  # tanh(-7.5)
    assert scaled_sigmoid(3.01) == -1.0


def test_probation_is_fifteen_percent_capped_at_750_rows() -> None:
    assert probationary_rows(1000) == 150
    assert probationary_rows(4032) == 604
    assert probationary_rows(129_600) == 750


def test_detection_at_the_window_start_earns_the_full_reward() -> None:
    score = score_series(ROWS, [WINDOW], [400])
    assert score.raw == pytest.approx(1.0)
    assert normalised_score([score]) == pytest.approx(100.0)


def test_detection_at_the_window_end_earns_almost_nothing() -> None:
    # y = -(499 - 499 + 1) / 100 = -0.01; tanh(0.025) / tanh(2.5) = 0.025334
    assert score_series(ROWS, [WINDOW], [499]).raw == pytest.approx(0.025334, abs=1e-6)


def test_detection_in_the_middle_of_the_window() -> None:
    # row 450: y = -(499 - 450 + 1) / 100 = -0.5; tanh(1.25) / tanh(2.5) = 0.859793
    assert score_series(ROWS, [WINDOW], [450]).raw == pytest.approx(0.859793, abs=1e-6)


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    score = score_series(ROWS, [WINDOW], [450, 400, 420])
    assert score.raw == pytest.approx(1.0)
    assert score.false_positives == 0


def test_missed_window_costs_the_false_negative_weight() -> None:
    score = score_series(ROWS, [WINDOW], [])
    assert score.raw == -1.0
    assert normalised_score([score]) == 0.0


def test_false_positive_with_no_window_before_it_costs_the_full_weight() -> None:
    score = score_series(ROWS, [WINDOW], [200, 400])
    assert score.raw == pytest.approx(1.0 - 0.11)
    assert score.false_positives == 1


def test_false_positive_just_after_a_window_is_cheaper() -> None:
    # row 549: 50 rows after the end, over (100 - 1) rows: y = 0.50505; 0.11 * tanh(-1.26263)
    score = score_series(ROWS, [WINDOW], [400, 549])
    assert score.raw == pytest.approx(1.0 - 0.093697, abs=1e-6)


def test_false_positive_far_behind_a_window_costs_the_full_weight() -> None:
    # row 900: 401 / 99 = 4.05 widths behind, beyond 3: sigma = -1
    assert score_series(ROWS, [WINDOW], [400, 900]).raw == pytest.approx(1.0 - 0.11)


def test_detections_in_the_probationary_period_are_ignored() -> None:
    score = score_series(ROWS, [WINDOW], [10, 149])
    assert score.raw == -1.0
    assert score.false_positives == 0


def test_a_window_inside_probation_is_not_scored() -> None:
    score = score_series(ROWS, [(10, 20)], [15])
    assert (score.raw, score.scored_windows, score.windows) == (0.0, 0, 1)


def test_corpus_normalisation_between_null_and_perfect() -> None:
    # raw = 1 (hit) - 1 (miss) - 0.11 (far FP) = -0.11; null = -2; perfect = 2
    hit = score_series(ROWS, [WINDOW], [400])
    miss = score_series(ROWS, [WINDOW], [200])
    assert normalised_score([hit, miss]) == pytest.approx(100 * 1.89 / 4)


def test_always_detecting_is_heavily_penalised() -> None:
    # Every row after probation fires: the window start is caught (1.0), and each of the other
    # 750 rows outside the window is a false positive.
    score = score_series(ROWS, [WINDOW], range(ROWS))
    assert score.detected_windows == 1
    assert score.false_positives == ROWS - 150 - 100
    assert score.raw < -50


def test_overlapping_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        score_series(ROWS, [(400, 500), (450, 600)], [])


def test_a_corpus_without_windows_has_no_score() -> None:
    with pytest.raises(ValueError, match="at least one labelled window"):
        normalised_score([NabSeriesScore(-0.11, 0, 0, 0, 1)])
