"""Self-healing of the reference service, each fault injected for real.

One service with tight detection bounds serves the whole module; every test
injects its fault, waits (bounded) for the incident it must cause, and checks
that the service recovered and that no acknowledged feedback was lost.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import psutil
import pytest

pytestmark = pytest.mark.integration

WAIT_S = 45.0


def now_iso() -> str:
    """The wall-clock instant to look for incidents from."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wait_for(what: str, probe, timeout_s: float = WAIT_S, interval_s: float = 0.2) -> Any:
    """Poll `probe` until it returns something truthy; fail naming `what` otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = probe()
        except httpx.TransportError:
            # A kept-alive connection to a worker that was just killed is reset;
            # the next attempt opens a fresh one to whichever worker serves now.
            value = None
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def incident(service, kind: str, since: str, *, recovered: bool = True) -> dict | None:
    """The first incident of `kind` detected since `since` (recovered, if asked)."""
    body = service.client.get("/incidents", params={"since": since}).json()
    for item in body["incidents"]:
        if item["kind"] == kind and (item["recovered_at"] is not None or not recovered):
            return item
    return None


def healthy_worker(service, old_pid: int) -> list[int] | None:
    """The worker pids once a worker other than `old_pid` serves and health is ok."""
    body = service.health()
    pids = body["worker_pids"]
    if body["status"] == "ok" and pids and old_pid not in pids:
        return pids
    return None


def label_traffic(service, n: int, rng: random.Random) -> list[tuple[dict, int]]:
    """n predictions each followed by its true label; all must be acknowledged."""
    served = []
    for _ in range(n):
        x = {"a": rng.gauss(0, 1), "b": rng.gauss(0, 1)}
        y = int(x["a"] + 0.5 * x["b"] > 0)
        body = service.client.post("/predict", json={"features": x}).json()
        ack = service.client.post("/feedback", json={"request_id": body["request_id"], "label": y})
        assert ack.status_code == 202, ack.text
        served.append((body, y))
    return served


def total_feedback(service) -> int:
    """Feedback count according to /evaluation."""
    return service.client.get("/evaluation").json()["total"]["count"]


def test_killed_worker_is_restarted_and_learning_is_kept(healing_service):
    service = healing_service
    rng = random.Random(3)
    label_traffic(service, 150, rng)
    count_before = wait_for("feedback to be counted", lambda: total_feedback(service) or None)
    time.sleep(0.5)  # let the background learner apply the labels
    pid = service.health()["worker_pids"][0]
    since = now_iso()
    os.kill(pid, signal.SIGKILL)

    found = wait_for(
        "a recovered worker_crash incident", lambda: incident(service, "worker_crash", since)
    )
    assert found["action"] == "restart_worker"
    assert found["evidence"]["pid"] == pid
    assert found["evidence"]["signal"] == "SIGKILL"
    assert wait_for("a new healthy worker", lambda: healthy_worker(service, pid))
    assert total_feedback(service) == count_before
    # The restarted worker resumed from the checkpoint and replayed the feedback log.
    time.sleep(0.5)
    probe = [(x, y) for x, y in ((rng.gauss(0, 1), rng.gauss(0, 1)) for _ in range(60))]
    correct = 0
    for a, b in probe:
        body = service.client.post("/predict", json={"features": {"a": a, "b": b}}).json()
        correct += body["prediction"] == int(a + 0.5 * b > 0)
    assert correct / len(probe) >= 0.8, correct


def test_stopped_worker_is_detected_as_hung_and_recycled(healing_service):
    service = healing_service
    pid = service.health()["worker_pids"][0]
    since = now_iso()
    os.kill(pid, signal.SIGSTOP)
    try:
        found = wait_for(
            "a recovered worker_hang incident", lambda: incident(service, "worker_hang", since)
        )
    finally:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGCONT)
    assert found["action"] == "recycle_worker"
    assert found["evidence"]["pid"] == pid
    assert found["evidence"]["heartbeat_age_s"] > 1.5
    assert wait_for("a new healthy worker", lambda: healthy_worker(service, pid))
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_memory_growth_past_the_bound_recycles_the_worker(healing_service):
    service = healing_service
    since = now_iso()
    response = service.client.post(
        "/admin/faults/memory", json={"megabytes": 400}, headers=service.admin()
    )
    assert response.status_code == 200, response.text
    pid = response.json()["worker_pid"]
    found = wait_for(
        "a recovered memory_growth incident", lambda: incident(service, "memory_growth", since)
    )
    assert found["action"] == "recycle_worker"
    assert found["evidence"]["pid"] == pid
    assert found["evidence"]["rss_mb"] > found["evidence"]["bound_mb"]
    assert wait_for("a new healthy worker", lambda: healthy_worker(service, pid))


def test_error_rate_spike_recycles_the_failing_worker(healing_service):
    service = healing_service
    since = now_iso()
    response = service.client.post(
        "/admin/faults/errors", json={"rate": 1.0, "seconds": 120}, headers=service.admin()
    )
    pid = response.json()["worker_pid"]
    statuses = []
    for _ in range(200):
        statuses.append(service.client.post("/predict", json={"features": {"a": 1}}).status_code)
        if incident(service, "error_rate_spike", since, recovered=False):
            break
        time.sleep(0.02)
    assert 500 in statuses
    found = wait_for(
        "a recovered error_rate_spike incident",
        lambda: incident(service, "error_rate_spike", since),
    )
    assert found["action"] == "recycle_worker"
    assert found["evidence"]["error_rate"] > found["evidence"]["threshold"]
    assert wait_for("a new healthy worker", lambda: healthy_worker(service, pid))
    # The fault lived in the recycled process: the new one answers normally.
    assert service.client.post("/predict", json={"features": {"a": 1}}).status_code == 200


def test_corrupt_deploy_is_detected_as_regression_and_rolled_back(healing_service):
    service = healing_service
    rng = random.Random(5)
    label_traffic(service, 40, rng)
    parent = service.health()["model_version"]
    since = now_iso()
    deployed = service.client.post(
        "/admin/models/deploy", json={"corrupt": True}, headers=service.admin()
    )
    assert deployed.status_code == 200, deployed.text
    bad = deployed.json()["name"]
    wait_for("the corrupt version to serve", lambda: service.health()["model_version"] == bad)
    served: list[tuple[dict, int]] = []
    for _ in range(8):
        served += label_traffic(service, 10, rng)
        if incident(service, "model_regression", since):
            break
    found = wait_for(
        "a model_regression incident", lambda: incident(service, "model_regression", since)
    )
    assert found["action"] == "rollback_model"
    assert found["evidence"]["version"] == bad
    assert found["evidence"]["rolled_back_to"] == parent
    assert found["evidence"]["accuracy"] < found["evidence"]["parent_accuracy"]
    wait_for(
        "the parent version to serve again", lambda: service.health()["model_version"] == parent
    )
    models = service.client.get("/admin/models", headers=service.admin()).json()
    assert models["active"] == parent


def test_database_outage_buffers_feedback_and_replays_it(healing_service):
    service = healing_service
    rng = random.Random(9)
    count_before = total_feedback(service)
    since = now_iso()
    lock = sqlite3.connect(service.data_dir / "reference.db", timeout=10, isolation_level=None)
    acknowledged = 0
    try:
        # Holding the write lock is what a stuck writer or a long migration does to SQLite.
        lock.execute("BEGIN EXCLUSIVE")
        acknowledged += len(label_traffic(service, 30, rng))
        wait_for("degraded health", lambda: service.health()["status"] == "degraded")
        acknowledged += len(label_traffic(service, 30, rng))
        # A worker crash while feedback sits in its buffer must not lose it either.
        pid = service.health()["worker_pids"][0]
        os.kill(pid, signal.SIGKILL)
        wait_for("a replacement worker", lambda: healthy_or_degraded_worker(service, pid))
        acknowledged += len(label_traffic(service, 10, rng))
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    found = wait_for(
        "a recovered database_unavailable incident",
        lambda: incident(service, "database_unavailable", since),
    )
    assert found["action"] == "degraded_mode"
    assert found["evidence"]["recovery_action"] == "replay_buffer"
    assert found["evidence"]["replayed_feedback"] > 0
    wait_for("health ok again", lambda: service.health()["status"] == "ok")
    assert wait_for(
        "every acknowledged label in the database",
        lambda: total_feedback(service) == count_before + acknowledged,
    )


def healthy_or_degraded_worker(service, old_pid: int) -> bool:
    """Whether a worker other than `old_pid` is answering."""
    body = service.health()
    return (
        bool(body["worker_pids"])
        and old_pid not in body["worker_pids"]
        and (body["components"]["workers"]["alive"] >= 1)
    )
