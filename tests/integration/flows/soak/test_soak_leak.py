"""A target whose memory grows steadily fails the soak, with the time it would reach its bound.

The reference service runs with its memory-growth hook fed every second during the soak
(``POST /admin/faults/memory``) and its own recycling pushed out of the way
(``--max-worker-rss-mb 16384``), so the leak shows in its resident memory. The soak flow runs
for real under the session's Prefect server.
"""

from __future__ import annotations

import threading

import pytest

from flows.soak import soak
from tests.integration.vigil.faults.targets import reference_config
from vigil.config import StoreConfig
from vigil.results import Status
from vigil.run import SuiteRun
from vigil.soak.config import soak_settings_for
from vigil.store import Store
from vigil.targets import open_target
from vigil.targets.client import TargetClient

pytestmark = pytest.mark.integration

LEAK_MB_PER_S = 15
LEAK_SECONDS_MAX = 90


def _feed_leak(endpoint, stop: threading.Event) -> None:
    """Grow the worker's memory every second until stopped (bounded in count)."""
    with TargetClient(endpoint, timeout_s=5.0) as client:
        for _ in range(LEAK_SECONDS_MAX):
            if stop.wait(1.0):
                return
            client.admin("POST", "/admin/faults/memory", json={"megabytes": LEAK_MB_PER_S})


def test_a_steady_memory_leak_fails_the_soak_with_its_projected_time(tmp_path, prefect_harness):
    config = reference_config("--max-worker-rss-mb", "16384", name="leaky-reference")
    settings = soak_settings_for(
        "development",
        duration_s=30.0,
        cycle_s=6.0,
        fault={"every_cycles": 0},
        learning_rows=3,
        pattern_check=False,
        bounds={"target_rss_bound_mb": 4000.0, "horizon_s": 3600.0, "min_cycles_for_trend": 3},
    )
    store_url = f"sqlite:///{tmp_path / 'vigil.db'}"
    Store.open(store_url).begin_run("leak-soak", profile="development", seed=7, config={})
    stop = threading.Event()
    with open_target(config, tmp_path / "target") as target:
        run = SuiteRun(
            run_id="leak-soak",
            profile="development",
            seed=7,
            store=StoreConfig(url=store_url),
            report_dir=tmp_path / "reports",
            endpoint=target.endpoint,
        )
        feeder = threading.Thread(target=_feed_leak, args=(target.endpoint, stop), daemon=True)
        feeder.start()
        try:
            result = soak(run, settings)
        finally:
            stop.set()
            feeder.join(timeout=10)

    checks = {c.name: c for c in result.checks}
    memory = checks["memory_trend_within_bound"]
    assert memory.status is Status.FAILED, memory.message
    assert "target RSS would reach its bound of 4000 MB" in memory.message
    assert "h into the soak (at " in memory.message
    assert 0 < memory.measured["projected_crossing_h"] < 1.0
    assert result.status is Status.FAILED
    slope = {m.name: m.value for m in result.measurements}["soak_rss_slope_mb_per_h"]
    # 15 MB a second is 54,000 MB/h; allow for the first seconds and the sampling instants.
    assert slope > 10_000, slope
    # The soak's result is in the store as a suite of the run.
    stored = {s.suite: s for s in Store.open(store_url).suites("leak-soak")}
    assert stored["soak"].status is Status.FAILED
