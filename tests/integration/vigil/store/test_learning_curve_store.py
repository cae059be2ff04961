"""The learning curve in vigil's store, on real SQLite and PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.errors import StoreError
from vigil.store import Store, learning_curve, record_learning_curve

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vigil.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = Store.open(url)
    try:
        yield opened
    finally:
        opened.close()


def test_the_curve_round_trips_with_a_silent_day_as_null_and_is_replaced(store: Store) -> None:
    store.begin_run("run-l", profile="development", seed=1, config={})
    days = [
        {"day": 0, "accuracy": 0.55, "log_loss": 0.69, "count": 200},
        {"day": 1, "accuracy": math.nan, "log_loss": math.nan, "count": 0},
        {"day": 2, "accuracy": 0.8, "log_loss": 0.45, "count": 198},
    ]
    record_learning_curve(store, "run-l", days)
    record_learning_curve(store, "run-l", days)  # a retry replaces, never duplicates
    stored = learning_curve(store, "run-l")
    assert [(row.day, row.accuracy, row.count) for row in stored] == [
        (0, 0.55, 200),
        (1, None, 0),
        (2, 0.8, 198),
    ]
    assert stored[0].recorded_at.tzinfo is not None
    assert learning_curve(store, "another-run") == []


def test_a_curve_for_an_unknown_run_is_refused(store: Store) -> None:
    with pytest.raises(StoreError):
        record_learning_curve(
            store, "never-begun", [{"day": 0, "accuracy": 0.5, "log_loss": 0.7, "count": 1}]
        )
