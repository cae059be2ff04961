"""The replay's plan: which rows are sent, and in what order predictions and labels go."""

from __future__ import annotations

import pandas as pd
import pytest

from vigil.load.replay import FEEDBACK, PREDICT, sample_rows, schedule_replay

T0 = pd.Timestamp("2026-04-06T00:00:00Z")


def _at(*seconds: float) -> pd.Series:
    return pd.Series([T0 + pd.Timedelta(seconds=s) for s in seconds])


def test_labels_wait_for_their_moment_so_later_rows_are_predicted_first():
    # row 0 asked at 0 s, label at 25 s; row 1 asked at 10 s, label at 10 s (no delay);
    # row 2 asked at 25 s, the instant row 0's label arrives; its label at 30 s.
    order = schedule_replay(_at(0, 10, 25), _at(25, 10, 30))
    assert order == [
        (PREDICT, 0),
        (PREDICT, 1),
        (FEEDBACK, 1),  # zero delay: right after its own prediction
        (FEEDBACK, 0),  # same instant as row 2's question: the label goes first, as in river
        (PREDICT, 2),
        (FEEDBACK, 2),
    ]


def test_a_label_before_its_prediction_is_refused():
    with pytest.raises(ValueError, match="row at position 1 has its label available before"):
        schedule_replay(_at(0, 10), _at(5, 9))


def test_sampling_keeps_an_even_spread_of_each_day():
    frame = pd.DataFrame({"day": [0] * 10 + [1] * 4, "row_id": range(14)})
    kept = sample_rows(frame, 3)
    # day 0: floor(k * 3 / 10) steps up at k = 0, 4, 7; day 1: floor(k * 3 / 4) at k = 0, 2, 3
    assert kept["row_id"].tolist() == [0, 4, 7, 10, 12, 13]
    assert sample_rows(frame, None) is frame
    assert len(sample_rows(frame, 100)) == 14
    with pytest.raises(ValueError, match="max_rows_per_day=0"):
        sample_rows(frame, 0)


def test_moments_in_different_units_are_compared_as_instants():
    asked = _at(0, 10).astype("datetime64[us, UTC]")
    answered = _at(15, 12).astype("datetime64[ns, UTC]")
    assert schedule_replay(asked, answered) == [
        (PREDICT, 0),
        (PREDICT, 1),
        (FEEDBACK, 1),
        (FEEDBACK, 0),
    ]
