"""vigil's daily prequential accuracy against river's own progressive validation.

The same stream, the same river pipeline as the reference service
(``reference.learner.build_pipeline``), run in-process twice: once driven in the
order vigil's replay sends requests (``schedule_replay``, label delay included)
and scored by vigil from the answers; once by river's
``evaluate.iter_progressive_val_score`` with the stream's moments and label
delays. river models the delay itself (``moment``/``delay``), so the delay stays
in the comparison. Agreement within half a percentage point per day shows that
vigil's ordering and scoring measure what river measures.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from river import evaluate, metrics
from river import stream as river_stream

from reference.learner import build_pipeline
from vigil.load.replay import FEEDBACK, PREDICT, schedule_replay
from vigil.scoring.learning import score_replay_answers
from vigil.synth.config import LearningStreamConfig
from vigil.synth.learning import generate_learning_stream

pytestmark = pytest.mark.integration

SEED = 20261121
LEARNING_RATE = 0.05
TOLERANCE = 0.005


def _answers_in_replay_order(stream, order) -> pd.DataFrame:
    """What a target running the pipeline would answer, asked in vigil's replay order."""
    model = build_pipeline(LEARNING_RATE)
    frame = stream.frame
    rows = len(frame)
    prediction = np.full(rows, np.nan)
    score = np.full(rows, np.nan)
    for kind, row in order:
        x = stream.features_of(row)
        if kind == PREDICT:
            prediction[row] = float(bool(model.predict_one(x)))
            score[row] = model.predict_proba_one(x).get(True, 0.5)
        else:
            model.learn_one(x, bool(frame["label"].iloc[row]))
    return pd.DataFrame(
        {
            "row_id": frame["row_id"],
            "day": frame["day"],
            "label": frame["label"],
            "request_id": [f"r{i}" for i in range(rows)],
            "prediction": prediction,
            "score": score,
            "predict_status": 200,
            "feedback_status": 202,
        }
    )


def _delayed_dataset(stream):
    """The stream as river wants it, with moment and delay functions river calls per row."""
    frame = stream.frame
    moments = iter(pd.DatetimeIndex(frame["timestamp"]).to_pydatetime())
    waited_us = (
        pd.DatetimeIndex(frame["label_available_at"]).asi8
        - pd.DatetimeIndex(frame["timestamp"]).asi8
    ) // 1000
    delays = iter([dt.timedelta(microseconds=int(us)) for us in waited_us])
    dataset = ((stream.features_of(row), bool(label)) for row, label in enumerate(frame["label"]))
    # river calls moment(x) and delay(x, y) once per row, in row order, so the features stay
    # untouched (a timestamp among them would be one more input to the model).
    return dataset, (lambda _x: next(moments)), (lambda _x, _y: next(delays))


def _river_daily_accuracy(stream) -> np.ndarray:
    """river's prequential accuracy per simulated day, label delays simulated by river.

    ``progressive_val_score`` reports one running figure in the order labels arrive, so
    it cannot say which day a label belongs to. The same loop is written here over river's
    own delay simulation (``stream.simulate_qa``) with one ``metrics.Accuracy`` per day.
    """
    days = stream.frame["day"].to_numpy()
    model = build_pipeline(LEARNING_RATE)
    per_day = {int(day): metrics.Accuracy() for day in np.unique(days)}
    asked = {}
    dataset, moment, delay = _delayed_dataset(stream)
    for row, x, y in river_stream.simulate_qa(dataset, moment, delay):
        if y is None:
            asked[row] = model.predict_one(x)
            continue
        per_day[int(days[row])].update(y, asked.pop(row))
        model.learn_one(x, y)
    return np.array([per_day[day].get() for day in sorted(per_day)])


def _river_total_accuracy(stream) -> float:
    """river's ``progressive_val_score`` over the whole stream, with the same delays."""
    dataset, moment, delay = _delayed_dataset(stream)
    score = evaluate.progressive_val_score(
        dataset, build_pipeline(LEARNING_RATE), metrics.Accuracy(), moment=moment, delay=delay
    )
    return score.get()


@pytest.mark.parametrize("delay", ["exponential", "fixed"])
def test_vigil_daily_accuracy_matches_rivers_progressive_validation(delay: str) -> None:
    config = LearningStreamConfig(
        rows_per_day=200, label_delay_distribution=delay, label_delay_seconds=3600
    )
    stream = generate_learning_stream(config, SEED)
    order = schedule_replay(stream.frame["timestamp"], stream.frame["label_available_at"])
    daily = score_replay_answers(_answers_in_replay_order(stream, order), config.days)
    ours = daily["accuracy"].to_numpy()
    rivers = _river_daily_accuracy(stream)
    gap = np.abs(ours - rivers)
    worst = int(gap.argmax())
    assert gap.max() <= TOLERANCE, (
        f"day {worst}: vigil {ours[worst]:.4f}, river {rivers[worst]:.4f} "
        f"(gap {gap.max():.4f} > {TOLERANCE})"
    )
    answered = _answers_in_replay_order(stream, order)
    overall = float((answered["prediction"] == answered["label"]).mean())
    assert overall == pytest.approx(_river_total_accuracy(stream), abs=TOLERANCE)
    # Not vacuous: the model learnt, and ignoring the delay (each label sent right after its
    # prediction) would have been caught on some day.
    assert ours[-7:].mean() - ours[:7].mean() > 0.05
    undelayed = [(kind, row) for row in range(len(stream.frame)) for kind in (PREDICT, FEEDBACK)]
    hasty = score_replay_answers(_answers_in_replay_order(stream, undelayed), config.days)
    assert np.abs(hasty["accuracy"].to_numpy() - rivers).max() > TOLERANCE
