"""The reference's learning switch: a skipped row moves the learner on without changing it."""

from __future__ import annotations

from reference.learner import OnlineLearner
from reference.settings import ServiceSettings


def test_skipped_feedback_advances_the_learner_but_leaves_its_scores_unchanged():
    learner = OnlineLearner("v1", 0.5)
    rows = [({"x": float(i % 7), "y": float(i % 3)}, i % 2) for i in range(50)]
    before = [learner.score(x) for x, _ in rows]
    for feedback_id, (_, _label) in enumerate(rows, start=1):
        learner.skip(feedback_id)
    assert learner.applied_feedback_id == len(rows)
    assert [learner.score(x) for x, _ in rows] == before


def test_learning_switch_parses_from_the_command_line_words():
    assert ServiceSettings(learning_enabled="false").learning_enabled is False
    assert ServiceSettings().learning_enabled is True
