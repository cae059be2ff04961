"""The leak check against a real reference whose worker grows while vigil streams to it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.integration.vigil.faults.targets import launched_reference
from vigil.contract import labelled_rows
from vigil.results import Status
from vigil.system.checks import no_resource_leak_over_sustained_run
from vigil.system.settings import LeakTolerance
from vigil.targets.client import TargetClient

pytestmark = pytest.mark.integration

GROW_MB = 20
GROW_TIMES = 6


def test_a_worker_that_keeps_growing_fails_the_leak_check(tmp_path: Path) -> None:
    with launched_reference(tmp_path / "target") as target:
        endpoint = target.endpoint
        stop = threading.Event()

        def grow() -> None:
            # The reference's own test hook: each call holds GROW_MB more in the worker.
            with TargetClient(endpoint, timeout_s=10) as admin:
                for _ in range(GROW_TIMES):
                    if stop.wait(0.4):
                        return
                    admin.admin("POST", "/admin/faults/memory", json={"megabytes": GROW_MB})

        grower = threading.Thread(target=grow, daemon=True)
        with TargetClient(endpoint, timeout_s=5) as client:
            grower.start()
            try:
                result = no_resource_leak_over_sustained_run(
                    endpoint.capabilities,
                    endpoint,
                    client,
                    labelled_rows(3, 100),
                    seconds=3.0,
                    max_requests=2000,
                    interval_s=0.2,
                    tolerance=LeakTolerance(),
                )
            finally:
                stop.set()
                grower.join(30)

    assert result.status is Status.FAILED
    assert "resident memory climbs" in result.message
    assert "(bound 60)" in result.message
    assert result.measured["rss_slope_mb_per_min"] > 60
