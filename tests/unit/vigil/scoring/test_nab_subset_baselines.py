"""The NAB scorer on the real NAB subset: the trivial detectors land where NAB says they must."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vigil.scoring.nab import normalised_score, score_series

REPO = Path(__file__).resolve().parents[4]
NAB_DIR = REPO.parent / "shared" / "data" / "nab"


@pytest.fixture(scope="module")
def corpus() -> list[tuple[int, list[tuple[int, int]]]]:
    """(rows, windows as row ranges) of every labelled file of the subset."""
    labels_path = NAB_DIR / "labels" / "combined_windows.json"
    if not labels_path.exists():
        pytest.skip(f"the NAB subset is not at {NAB_DIR} (CI keeps ../shared beside the clone)")
    corpus = []
    for key, windows in json.loads(labels_path.read_text()).items():
        path = NAB_DIR / "data" / key
        if not path.exists():
            continue
        instants = pd.to_datetime(pd.read_csv(path)["timestamp"])
        rows = [
            (
                int((instants < pd.Timestamp(start)).sum()),
                int((instants <= pd.Timestamp(end)).sum()) - 1,
            )
            for start, end in windows
        ]
        corpus.append((len(instants), rows))
    return corpus


def test_null_detector_scores_zero(corpus: list[tuple[int, list[tuple[int, int]]]]) -> None:
    assert normalised_score([score_series(rows, windows, []) for rows, windows in corpus]) == 0.0


def test_detecting_every_window_at_its_start_scores_near_perfect(
    corpus: list[tuple[int, list[tuple[int, int]]]],
) -> None:
    scores = [score_series(rows, w, [start for start, _ in w]) for rows, w in corpus]
    assert sum(s.false_positives for s in scores) == 0
    # 100 unless a window lies wholly inside a file's probationary period.
    assert 95.0 <= normalised_score(scores) <= 100.0


def test_always_anomalous_is_far_below_the_null_detector(
    corpus: list[tuple[int, list[tuple[int, int]]]],
) -> None:
    scores = [score_series(rows, w, range(rows)) for rows, w in corpus]
    assert all(s.detected_windows == s.scored_windows for s in scores)
    assert normalised_score(scores) < -1000
