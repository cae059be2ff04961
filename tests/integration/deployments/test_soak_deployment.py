"""The weekly soak deployment, run (minutes-long) on the real server by the real worker."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.integration.deployments.conftest import PrefectServer
from vigil.criteria import Verdict
from vigil.store import RunStatus, SoakCheckpoints, Store

pytestmark = pytest.mark.integration


def test_the_weekly_soak_deployment_runs_a_short_soak_to_its_verdict(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    deployment = prefect_server.deployment("soak-run/weekly-soak")
    assert deployment["parameters"] == {"profile": "production"}
    assert [s["schedule"].get("cron") for s in deployment["schedules"]] == ["0 18 * * 5"]

    config = tmp_path / "vigil.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "work_dir": str(tmp_path / "work"),
                "store": {"url": f"sqlite:///{tmp_path / 'vigil.db'}"},
                "reports": {"dir": str(tmp_path / "reports")},
            }
        ),
        encoding="utf-8",
    )
    done = prefect_server.cli(
        "deployment",
        "run",
        "soak-run/weekly-soak",
        "--watch",
        "--watch-timeout",
        "600",
        "-p",
        "profile=development",
        "-p",
        "duration_s=30",
        "-p",
        f"config_path={config}",
        timeout=700,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + prefect_server.tail()

    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    [run] = store.list_runs()
    assert (run.status, run.verdict) == (RunStatus.COMPLETED, Verdict.PASSED)
    cycles = SoakCheckpoints(store).cycles(run.id)
    assert len(cycles) == 2 and len({c.cycle for c in cycles}) == 2
    # The deployment's MALLOC_ARENA_MAX reached the flow run's process: the soak did not warn
    # that Prefect's threads keep arenas of their own (the worker shows the run's log).
    worker_log = (prefect_server.logs / "worker.log").read_text(errors="replace")
    assert "soak cycle 2/2" in worker_log, prefect_server.tail()
    assert "malloc arena limit" not in worker_log, prefect_server.tail()
