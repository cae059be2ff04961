"""Admin endpoints (token, config, deploy/rollback, backup/restore) and /patterns/analyze."""

from __future__ import annotations

import math
import random
import time

import httpx
import pytest

pytestmark = pytest.mark.integration

ADMIN_POSTS = [
    ("/admin/config", {}),
    ("/admin/models/deploy", {}),
    ("/admin/models/rollback", {}),
    ("/admin/backup", None),
    ("/admin/restore", {"backup_id": "x"}),
    ("/admin/faults/memory", {"megabytes": 1}),
    ("/admin/faults/errors", {"rate": 0.1, "seconds": 1}),
]


def wait_until(what: str, probe, timeout_s: float = 30.0) -> None:
    """Poll `probe` until truthy (bounded); transport resets count as not yet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def labelled(service, n: int, seed: int) -> int:
    """Send n predictions with labels; returns how many were acknowledged."""
    rng = random.Random(seed)
    acknowledged = 0
    for _ in range(n):
        x = {"a": rng.gauss(0, 1)}
        rid = service.client.post("/predict", json={"features": x}).json()["request_id"]
        status = service.client.post(
            "/feedback", json={"request_id": rid, "label": int(x["a"] > 0)}
        ).status_code
        acknowledged += status == 202
    return acknowledged


@pytest.mark.parametrize(("path", "body"), ADMIN_POSTS, ids=[p for p, _ in ADMIN_POSTS])
def test_admin_calls_without_the_right_token_get_401(reference_service, path, body):
    client = reference_service.client
    missing = client.post(path, json=body)
    assert missing.status_code == 401
    assert "Bearer" in missing.json()["detail"]
    wrong = client.post(path, json=body, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert client.get("/admin/models").status_code == 401


def test_config_changes_apply_and_workers_scale(reference_service):
    client, auth = reference_service.client, reference_service.admin()
    changed = client.post(
        "/admin/config", json={"cache_size": 500, "learning_rate": 0.1}, headers=auth
    )
    assert changed.status_code == 200
    assert changed.json()["cache_size"] == 500
    assert math.isclose(changed.json()["learning_rate"], 0.1)
    bad = client.post("/admin/config", json={"workers": 0}, headers=auth)
    assert bad.status_code == 422
    assert "workers" in bad.json()["detail"]
    try:
        assert client.post("/admin/config", json={"workers": 2}, headers=auth).status_code == 200
        wait_until("two workers", lambda: len(reference_service.health()["worker_pids"]) == 2)
        wait_until("both workers ready", lambda: reference_service.health()["status"] == "ok")
        before = client.get("/evaluation").json()["total"]["count"]
        # Predictions and labels land on either worker; every label must find its prediction.
        assert labelled(reference_service, 40, seed=21) == 40
        assert client.get("/evaluation").json()["total"]["count"] == before + 40
    finally:
        client.post("/admin/config", json={"workers": 1}, headers=auth)
    wait_until("one worker again", lambda: len(reference_service.health()["worker_pids"]) == 1)


def test_deploy_and_rollback_switch_the_serving_version(reference_service):
    client, auth = reference_service.client, reference_service.admin()
    parent = reference_service.health()["model_version"]
    name = f"candidate-{int(time.time())}"
    deployed = client.post(
        "/admin/models/deploy", json={"version": name, "learning_rate": 0.02}, headers=auth
    )
    assert deployed.status_code == 200, deployed.text
    assert deployed.json()["parent"] == parent
    assert deployed.json()["corrupt"] is False
    wait_until(
        "the new version to serve", lambda: reference_service.health()["model_version"] == name
    )
    assert client.post("/predict", json={"features": {"a": 1}}).json()["model_version"] == name
    duplicate = client.post("/admin/models/deploy", json={"version": name}, headers=auth)
    assert duplicate.status_code == 409
    unknown = client.post("/admin/models/rollback", json={"to": "v999"}, headers=auth)
    assert unknown.status_code == 404
    rolled = client.post("/admin/models/rollback", json={}, headers=auth)
    assert rolled.status_code == 200
    assert rolled.json()["name"] == parent
    wait_until("the parent to serve", lambda: reference_service.health()["model_version"] == parent)
    models = client.get("/admin/models", headers=auth).json()
    assert models["active"] == parent
    assert name in {v["name"] for v in models["versions"]}


def test_backup_then_restore_brings_back_exactly_the_backed_up_feedback(reference_service):
    client, auth = reference_service.client, reference_service.admin()
    labelled(reference_service, 10, seed=31)
    backup = client.post("/admin/backup", headers=auth)
    assert backup.status_code == 200, backup.text
    body = backup.json()
    assert body["feedback_count"] == client.get("/evaluation").json()["total"]["count"]
    assert body["created_at"].endswith("Z")
    labelled(reference_service, 15, seed=32)
    assert client.get("/evaluation").json()["total"]["count"] == body["feedback_count"] + 15
    restored = client.post("/admin/restore", json={"backup_id": body["backup_id"]}, headers=auth)
    assert restored.status_code == 200, restored.text
    assert restored.json()["feedback_count"] == body["feedback_count"]
    assert client.get("/evaluation").json()["total"]["count"] == body["feedback_count"]
    # The service keeps serving and learning after the restore.
    wait_until("health ok", lambda: reference_service.health()["status"] == "ok")
    assert labelled(reference_service, 5, seed=33) == 5
    missing = client.post("/admin/restore", json={"backup_id": "nope"}, headers=auth)
    assert missing.status_code == 404
    invalid = client.post("/admin/restore", json={"backup_id": "../etc"}, headers=auth)
    assert invalid.status_code == 422


def test_patterns_analyze_finds_a_spike_and_validates_input(reference_service):
    values = [10.0 + (i % 7) * 0.1 for i in range(1500)]
    values[900] = 80.0
    body = {"start": "2026-01-01T00:00:00Z", "step_seconds": 60, "series": {"latency": values}}
    response = reference_service.client.post("/patterns/analyze", json=body, timeout=60)
    assert response.status_code == 200, response.text[:500]
    result = response.json()
    assert set(result) >= {"anomalies", "patterns", "recommendations", "summary"}
    assert result["summary"]["points"] == 1500
    assert any(a["metric"] == "latency" for a in result["anomalies"])
    mismatched = {
        "start": "2026-01-01T00:00:00Z",
        "step_seconds": 60,
        "series": {"a": [1.0], "b": [1.0, 2.0]},
    }
    bad = reference_service.client.post("/patterns/analyze", json=mismatched)
    assert bad.status_code == 422
    assert "values" in bad.json()["detail"]
