"""One load step split into shards, each a Prefect task run, on threads and on a Dask cluster.

The merged result must count exactly what the shards counted, its percentiles must be those of
the shards' histograms added together, and the server must have received what was counted.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.load_shards import sharded_load_flow
from vigil.config import HTTP_CAPABILITIES
from vigil.load.statistics import PERCENTILES, decode_histogram, new_histogram
from vigil.performance import (
    PerformanceSuiteConfig,
    RequestMixConfig,
    UserProfileConfig,
    merge_shards,
    plan_steps,
)

pytestmark = pytest.mark.integration

SERVER = Path(__file__).with_name("slow_target.py")


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    """The slow target with a 20 ms delay, stopped by pid afterwards."""
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--delay-ms", "20"], stdout=subprocess.PIPE, text=True
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready and process.stdout is not None, "the slow target printed no port in 20 s"
        line = process.stdout.readline()
        assert line.startswith("PORT "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def received(base_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base_url}/stats", timeout=5) as answer:
        return json.load(answer)["received"]


@pytest.mark.parametrize("runner", ["threads", "dask"])
def test_shards_merge_exactly_on_either_runner(
    prefect_harness: None, target: str, runner: str
) -> None:
    settings = PerformanceSuiteConfig(
        profiles={
            "a": UserProfileConfig(
                share=0.5,
                think_min_seconds=0.02,
                think_max_seconds=0.05,
                mix=RequestMixConfig(predict=1, predict_feedback=1, evaluation=0),
            ),
            "b": UserProfileConfig(
                share=0.5,
                think_min_seconds=0.02,
                think_max_seconds=0.05,
                mix=RequestMixConfig(predict=1, predict_feedback=0, evaluation=0),
            ),
        },
        load_users=9,
        ramp_seconds=0,
        steady_seconds=2,
        shards=2,
        task_runner=runner,
        dask_workers=2,
    )
    capabilities = HTTP_CAPABILITIES - {"evaluation"}
    plan = plan_steps(settings, capabilities, seed=4)[1][0]
    before = received(target)

    flow = sharded_load_flow(settings)
    assert (
        type(flow.task_runner).__name__
        == {"threads": "ThreadPoolTaskRunner", "dask": "DaskTaskRunner"}[runner]
    )
    shards = flow(target, plan, settings, 2)

    assert len(shards) == 2
    assert sum(r.users for shard in shards for r in shard.values()) == 9
    merged = merge_shards(shards)
    for group, result in merged.items():
        parts = [shard[group] for shard in shards if group in shard]
        assert result.overall.count == sum(p.overall.count for p in parts) > 0
        added = new_histogram()
        for part in parts:
            added.add(decode_histogram(part.overall.histogram))
        for percentile, value in zip(
            PERCENTILES,
            (result.overall.latency.p50_ms, result.overall.latency.p90_ms,
             result.overall.latency.p95_ms, result.overall.latency.p99_ms),
            strict=True,
        ):  # fmt: skip
            assert value == round(added.get_value_at_percentile(percentile) / 1000, 3)
    sent = sum(r.requests["predict"].count for r in merged.values())
    cancelled = sum(r.cancelled for shard in shards for r in shard.values())
    got = received(target)["/predict"] - before.get("/predict", 0)
    assert sent <= got <= sent + cancelled, (sent, got, cancelled)
    assert min(r.overall.latency.p50_ms or 0 for r in merged.values()) >= 20
