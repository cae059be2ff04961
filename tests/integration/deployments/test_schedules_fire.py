"""A schedule on a real server produces runs, and a clean process worker runs one to the end.

This is the proof that Prefect 3.8.8's scheduler works under the SQLAlchemy that uv.lock pins
(under 2.1 it never inserted a scheduled run: ``Can't evaluate bulk DML statement``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy
import yaml

from tests.integration.deployments.conftest import REPO, PrefectServer

pytestmark = pytest.mark.integration

INTERVAL_S = 10
WAIT_S = 180


def test_an_interval_schedule_gets_scheduled_runs_and_the_worker_completes_one(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    assert sqlalchemy.__version__.startswith("2.0."), sqlalchemy.__version__
    # The project's own build and pull steps, so the worker finds the code as it would for
    # vigil's deployments; only the flow is a tiny one.
    project = yaml.safe_load((REPO / "deployments" / "prefect.yaml").read_text())
    spec = {
        "name": "vigil-schedule-test",
        "build": project["build"],
        "pull": project["pull"],
        "deployments": [
            {
                "name": "every-10s",
                "entrypoint": "tests/integration/deployments/heartbeat.py:heartbeat",
                "work_pool": {"name": "vigil-local"},
                "schedules": [{"interval": INTERVAL_S}],
            }
        ],
    }
    prefect_file = tmp_path / "prefect.yaml"
    prefect_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    prefect_server.cli("deploy", "--all", "--prefect-file", str(prefect_file))
    deployment = prefect_server.deployment("heartbeat/every-10s")
    try:
        deadline = time.monotonic() + WAIT_S
        completed: list[dict] = []
        runs: list[dict] = []
        while time.monotonic() < deadline and not completed:
            runs = prefect_server.flow_runs(deployment["id"])
            completed = [r for r in runs if r["state_type"] == "COMPLETED"]
            time.sleep(1)
        assert completed, (
            f"no run of the scheduled deployment completed in {WAIT_S}s; runs: "
            f"{[(r['name'], r['state_type']) for r in runs]}\n{prefect_server.tail()}"
        )
        # Every run came from the scheduler service, none from a manual trigger.
        assert runs and all(r["auto_scheduled"] for r in runs)
        assert len({r["expected_start_time"] for r in runs}) == len(runs) >= 2
        [run] = completed[:1]
        assert run["work_pool_name"] == "vigil-local"
        logs = prefect_server.api(
            "POST", "/logs/filter", json={"logs": {"flow_run_id": {"any_": [run["id"]]}}}
        )
        assert any(f"heartbeat in {REPO}" in log["message"] for log in logs), logs
    finally:
        prefect_server.cli("deployment", "delete", "heartbeat/every-10s", check=False)
