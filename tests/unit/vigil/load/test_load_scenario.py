"""Unit tests of scenario construction and of the built-in predict/feedback scenario."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vigil.load.scenario import (
    Iteration,
    Scenario,
    Step,
    predict_feedback_scenario,
    random_labelled_rows,
    row_source,
)


def test_predict_feedback_builds_both_bodies_from_the_row_and_the_answer() -> None:
    rows = [({"x0": 1.5, "city": "paris"}, True), ({"x0": -1.0, "city": "oslo"}, 0)]
    scenario = predict_feedback_scenario(rows)
    predict, feedback = scenario.steps
    assert scenario.next_row is not None
    iteration = Iteration(user=0, row=scenario.next_row())

    assert (predict.method, predict.path, predict.think_after) == ("POST", "/predict", True)
    assert predict.json_body is not None and predict.extract is not None
    assert predict.json_body(iteration) == {"features": {"x0": 1.5, "city": "paris"}}
    predict.extract(iteration, {"request_id": "abc", "prediction": 1})
    assert feedback.json_body is not None
    assert feedback.json_body(iteration) == {"request_id": "abc", "label": 1}
    assert feedback.ok_statuses == frozenset({202})
    assert feedback.think_after is False

    second = Iteration(user=0, row=scenario.next_row())
    predict.extract(second, {"request_id": "def"})
    assert feedback.json_body(second) == {"request_id": "def", "label": 0}
    with pytest.raises(StopIteration):
        scenario.next_row()


def test_the_prediction_must_carry_a_request_id() -> None:
    extract = predict_feedback_scenario([]).steps[0].extract
    assert extract is not None
    with pytest.raises(KeyError):
        extract(Iteration(user=0), {"prediction": 1})
    with pytest.raises(ValueError, match="request_id must be a non-empty string, got 42"):
        extract(Iteration(user=0), {"request_id": 42})


def test_think_after_feedback_is_optional() -> None:
    scenario = predict_feedback_scenario(iter([]), think_after_feedback=True)
    assert [s.think_after for s in scenario.steps] == [True, True]


def test_row_sources_accept_callables_and_iterables() -> None:
    counter = iter(range(3))
    assert row_source(lambda: ("f", 1))() == ("f", 1)
    next_row = row_source(counter)
    assert [next_row(), next_row(), next_row()] == [0, 1, 2]
    with pytest.raises(TypeError, match="rows must be an iterable or a callable"):
        row_source(42)  # type: ignore[arg-type]


def test_random_rows_are_repeatable_bounded_and_follow_the_rule() -> None:
    first = list(random_labelled_rows(seed=3, limit=200))
    assert first == list(random_labelled_rows(seed=3, limit=200))
    assert len(first) == 200
    for features, label in first:
        assert label == int(features["x0"] + 0.5 * features["x1"] - 0.25 * features["x2"] > 0)
    assert 0 < sum(label for _, label in first) < 200
    with pytest.raises(ValueError, match="features must be at least 3"):
        next(random_labelled_rows(features=2))


def test_step_paths_and_statuses_are_validated_with_the_fix() -> None:
    with pytest.raises(
        ValidationError, match=r"path 'predict' must start with '/', e\.g\. '/predict'"
    ):
        Step(name="p", path="predict")
    with pytest.raises(ValidationError, match=r"HTTP statuses in 100..599, got \[42\]"):
        Step(name="p", path="/p", ok_statuses=frozenset({42, 200}))
    with pytest.raises(ValidationError, match="name"):
        Step(name="", path="/p")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Step(name="p", path="/p", body={})  # type: ignore[call-arg]


def test_a_scenario_needs_at_least_one_step() -> None:
    with pytest.raises(ValidationError, match="steps"):
        Scenario(name="empty", steps=())
    scenario = Scenario(name="one", steps=(Step(name="health", path="/health"),))
    assert scenario.steps[0].method == "GET"
    assert scenario.next_row is None
