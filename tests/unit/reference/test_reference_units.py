"""Pure pieces of the reference service: scoring, the learner, the buffer, the incident log."""

from __future__ import annotations

import fcntl
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from reference.incidents import IncidentLog, parse_iso
from reference.learner import OnlineLearner
from reference.scoring import log_loss
from reference.writer import LocalBuffer


def test_log_loss_is_finite_and_rewards_confident_right_answers():
    assert log_loss(0.9, 1) < log_loss(0.6, 1) < log_loss(0.1, 1)
    assert math.isclose(log_loss(0.5, 0), math.log(2))
    assert math.isfinite(log_loss(0.0, 1)) and math.isfinite(log_loss(1.0, 0))


def train(learner: OnlineLearner, n: int, seed: int) -> None:
    rng = random.Random(seed)
    for i in range(n):
        x = {"a": rng.gauss(0, 1), "c": rng.choice(["x", "y"])}
        learner.learn(x, int(x["a"] > 0), i + 1)


def test_learner_learns_and_a_corrupt_copy_inverts_its_scores():
    learner = OnlineLearner("v1", 0.1)
    train(learner, 400, seed=1)
    assert learner.applied_feedback_id == 400
    assert learner.score({"a": 2.0, "c": "x"}) > 0.8
    assert learner.score({"a": -2.0, "c": "y"}) < 0.2
    corrupt = learner.derive("v2", None, corrupt=True)
    x = {"a": 1.5, "c": "x"}
    assert math.isclose(corrupt.score(x), 1 - learner.score(x))
    assert corrupt.version == "v2" and learner.version == "v1"


def test_learner_checkpoint_round_trip_and_reset():
    learner = OnlineLearner("v1", 0.1)
    train(learner, 100, seed=2)
    restored = OnlineLearner.loads(learner.dumps())
    x = {"a": 0.7, "c": "y"}
    assert restored.score(x) == learner.score(x)
    assert restored.applied_feedback_id == 100
    restored.reset("v3")
    assert restored.version == "v3"
    assert restored.score(x) == 0.5
    with pytest.raises(TypeError, match="OnlineLearner"):
        OnlineLearner.loads(__import__("pickle").dumps({"not": "a learner"}))


def test_learner_never_serves_a_non_finite_score():
    learner = OnlineLearner("v1", 5.0)
    for i in range(50):
        learner.learn({"a": 1e15 * (-1) ** i}, i % 2, i + 1)
    score = learner.score({"a": 1e15})
    assert 0.0 <= score <= 1.0


def test_local_buffer_round_trip_skips_a_torn_line_and_locks(tmp_path):
    path = tmp_path / "worker-0.jsonl"
    buffer = LocalBuffer(path)
    now = datetime.now(UTC)
    buffer.append([{"request_id": "p1", "created_at": now}], [{"request_id": "p1", "label": 1}])
    with open(path, "ab") as raw:
        raw.write(b'{"t": "f", "row": {"request_')
    items = buffer.load()
    assert [kind for kind, _ in items] == ["p", "f"]
    assert items[0][1]["created_at"] == now
    assert buffer.pending_feedback == 1
    with open(path, "a+b") as other, pytest.raises(BlockingIOError):
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    buffer.clear()
    assert buffer.empty and buffer.load() == []
    buffer.close()


def test_incident_log_folds_updates_and_filters_by_time(tmp_path):
    log = IncidentLog(tmp_path / "incidents.jsonl")
    first = log.open_incident("worker_crash", "restart_worker", {"pid": 1})
    log.close_incident(first, new_pid=2)
    log.open_incident("worker_hang", "recycle_worker", {"pid": 2})
    incidents = log.read()
    assert [i["kind"] for i in incidents] == ["worker_crash", "worker_hang"]
    assert incidents[0]["recovered_at"] is not None
    assert incidents[0]["evidence"] == {"pid": 1, "new_pid": 2}
    assert incidents[0]["detected_at"].endswith("Z")
    later = parse_iso(incidents[1]["detected_at"]) + timedelta(seconds=1)
    assert log.read(later) == []
    with pytest.raises(ValueError, match="unknown incident"):
        log.open_incident("gremlins", "restart_worker", {})


def test_drift_is_reported_when_errors_rise_not_while_the_model_improves():
    # A slow learner: its error falls gradually, which ADWIN alone flags as a change.
    learner = OnlineLearner("v1", 0.003)
    rng = random.Random(4)
    raw_changes = reported = 0
    for i in range(3000):
        x = {"a": rng.gauss(0, 1), "b": rng.gauss(0, 1)}
        reported += learner.learn(x, int(x["a"] + x["b"] > 0), i + 1)
        raw_changes += learner.detector.drift_detected
    assert raw_changes >= 1
    assert reported == 0
    flipped_at = None
    for i in range(3000, 6000):
        x = {"a": rng.gauss(0, 1), "b": rng.gauss(0, 1)}
        if learner.learn(x, int(x["a"] + x["b"] <= 0), i + 1):
            flipped_at = i
            break
    assert flipped_at is not None and flipped_at - 3000 < 300
