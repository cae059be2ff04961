"""The HTTP contract of the reference service, against the real process."""

from __future__ import annotations

import random
import time

import httpx
import psutil
import pytest

pytestmark = pytest.mark.integration

SEPARABLE_WEIGHTS = {"a": 1.0, "b": 0.5}


def example(rng: random.Random) -> tuple[dict, int]:
    """A feature dict and its true label (linearly separable, plus a categorical)."""
    x = {"a": rng.gauss(0, 1), "b": rng.gauss(0, 1), "c": rng.choice(["x", "y", "z"])}
    return x, int(x["a"] + 0.5 * x["b"] > 0)


def predict_and_label(service, rng: random.Random, n: int) -> list[tuple[dict, int]]:
    """Send n predictions and their labels; returns (prediction body, label) pairs."""
    served = []
    for _ in range(n):
        x, y = example(rng)
        response = service.client.post("/predict", json={"features": x})
        assert response.status_code == 200, response.text
        body = response.json()
        feedback = service.client.post(
            "/feedback", json={"request_id": body["request_id"], "label": y}
        )
        assert feedback.status_code == 202, feedback.text
        served.append((body, y))
    return served


def test_health_reports_components_and_the_process_tree(reference_service):
    response = reference_service.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["model_version"]
    assert set(body["components"]) == {"model", "database", "workers"}
    assert body["components"]["database"]["status"] == "ok"
    assert body["supervisor_pid"] == reference_service.process.pid
    children = {p.pid for p in psutil.Process(body["supervisor_pid"]).children(recursive=True)}
    assert body["worker_pids"] and set(body["worker_pids"]) <= children


def test_predict_returns_a_probability_and_the_serving_version(reference_service):
    response = reference_service.client.post(
        "/predict", json={"features": {"a": 0.3, "b": -1, "c": "y"}}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"request_id", "prediction", "score", "model_version"}
    assert 0.0 <= body["score"] <= 1.0
    assert body["prediction"] == int(body["score"] >= 0.5)
    assert body["model_version"] == reference_service.health()["model_version"]


def test_feedback_is_accepted_once_and_unknown_ids_are_404(reference_service):
    client = reference_service.client
    rid = client.post("/predict", json={"features": {"a": 1}}).json()["request_id"]
    first = client.post("/feedback", json={"request_id": rid, "label": True})
    assert first.status_code == 202
    assert first.json() == {"request_id": rid, "status": "accepted"}
    again = client.post("/feedback", json={"request_id": rid, "label": 0})
    assert again.status_code == 409
    assert "already labelled" in again.json()["detail"]
    unknown = client.post("/feedback", json={"request_id": "no-such-id", "label": 1})
    assert unknown.status_code == 404
    assert "no-such-id" in unknown.json()["detail"]


def test_evaluation_scores_each_label_with_the_score_it_was_served(reference_service):
    client = reference_service.client
    before = client.get("/evaluation", params={"window": 50}).json()
    served = predict_and_label(reference_service, random.Random(7), 50)
    after = client.get("/evaluation", params={"window": 50}).json()
    assert after["total"]["count"] == before["total"]["count"] + 50
    assert after["window"]["size"] == 50
    assert after["window"]["count"] == 50
    expected_accuracy = sum(body["prediction"] == y for body, y in served) / 50
    assert abs(after["window"]["accuracy"] - expected_accuracy) < 1e-9
    assert after["window"]["log_loss"] > 0


def test_evaluation_window_is_bounded(reference_service):
    for window in (0, 1_000_001, "many"):
        response = reference_service.client.get("/evaluation", params={"window": window})
        assert response.status_code == 422, window
        assert "window" in response.json()["detail"]


def test_the_model_learns_from_feedback(reference_service):
    rng = random.Random(11)
    predict_and_label(reference_service, rng, 300)
    # Learning runs in the background a few times a second; give it a moment.
    time.sleep(1.0)
    fresh = predict_and_label(reference_service, rng, 100)
    accuracy = sum(body["prediction"] == y for body, y in fresh) / len(fresh)
    assert accuracy >= 0.85, accuracy


def test_metrics_count_requests_per_endpoint_and_status(reference_service):
    client = reference_service.client

    def predict_count() -> float:
        text = client.get("/metrics").text
        for line in text.splitlines():
            if line.startswith(
                'reference_requests_total{endpoint="/predict",method="POST",status="200"}'
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = predict_count()
    for _ in range(5):
        client.post("/predict", json={"features": {"a": 2}})
    assert predict_count() == before + 5
    text = client.get("/metrics").text
    for name in (
        "reference_request_duration_seconds_bucket",
        "reference_model_accuracy",
        "reference_feedback_backlog",
    ):
        assert name in text, name


def test_incidents_list_and_since_validation(reference_service):
    client = reference_service.client
    body = client.get("/incidents").json()
    assert isinstance(body["incidents"], list)
    assert client.get("/incidents", params={"since": "2020-01-01T00:00:00Z"}).status_code == 200
    bad = client.get("/incidents", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert "yesterday" in bad.json()["detail"]


def test_openapi_describes_every_endpoint(reference_service):
    paths = reference_service.client.get("/openapi.json").json()["paths"]
    for path in (
        "/health",
        "/predict",
        "/feedback",
        "/evaluation",
        "/metrics",
        "/incidents",
        "/patterns/analyze",
        "/admin/config",
        "/admin/models",
        "/admin/models/deploy",
        "/admin/models/rollback",
        "/admin/backup",
        "/admin/restore",
    ):
        assert path in paths, path


def gone(pids: list[int]) -> bool:
    """Whether none of these processes is still running."""
    return not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        for pid in pids
    )


def test_restarts_keep_data_and_never_leave_workers_behind(service_factory):
    service = service_factory(name="restart")
    rid = service.client.post("/predict", json={"features": {"a": 1}}).json()["request_id"]
    workers = service.health()["worker_pids"]
    assert service_factory.stop(service) == 0
    assert gone(workers)

    # Restarted on the same data and port, without an admin token this time.
    again = service_factory(
        "--data-dir",
        str(service.data_dir),
        name="restart-again",
        env={"REFERENCE_ADMIN_TOKEN": ""},
        port=service.port,
    )
    response = again.client.post("/feedback", json={"request_id": rid, "label": 1})
    assert response.status_code == 202, response.text
    admin = again.client.get("/admin/models", headers={"Authorization": "Bearer anything"})
    assert admin.status_code == 401
    assert "REFERENCE_ADMIN_TOKEN is not configured" in admin.json()["detail"]

    # SIGKILL of the supervisor: its workers must leave on their own, freeing the
    # port for an immediate restart (what an operator, or vigil, does next).
    workers = again.health()["worker_pids"]
    again.process.kill()
    again.process.wait(10)
    third = service_factory("--data-dir", str(service.data_dir), name="third", port=service.port)
    deadline = time.monotonic() + 60
    body: dict = {}
    while body.get("supervisor_pid") != third.process.pid and time.monotonic() < deadline:
        time.sleep(0.3)
        try:
            body = third.health()
        except httpx.TransportError:
            body = {}  # between the orphaned workers leaving and the new ones serving
    assert body.get("supervisor_pid") == third.process.pid
    assert gone(workers)
    duplicate = third.client.post("/feedback", json={"request_id": rid, "label": 0})
    assert duplicate.status_code == 409
