"""Load evidence in the store on real SQLite and PostgreSQL: histograms, series, samples."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vigil.load import LatencySloConfig
from vigil.load.config import LoadModel
from vigil.load.statistics import (
    OVERALL,
    LoadResult,
    RequestRecorder,
    StopReason,
    TimeBucket,
    decode_histogram,
)
from vigil.observe.resources import ProcessGroupSample, ResourceSample
from vigil.performance import (
    LoadStepPlan,
    PopulationPart,
    RequestKind,
    assemble_step,
    evidence_of,
)
from vigil.store import Store, load_evidence, record_load_evidence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vigil.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = Store.open(url)
    try:
        yield opened
    finally:
        opened.close()


def a_step(name: str) -> LoadStepPlan:
    part = PopulationPart(
        profile="light",
        kind=RequestKind.PREDICT,
        users=3,
        think_min_seconds=0,
        think_max_seconds=1,
    )
    return LoadStepPlan(
        name=name,
        phase="load",
        users=3,
        parts=(part,),
        warmup_seconds=0,
        measured_seconds=2,
        seed=1,
    )


def a_result(latencies_ms: list[float]) -> LoadResult:
    overall, predict = RequestRecorder(OVERALL), RequestRecorder("predict")
    for ms in latencies_ms:
        overall.record(ms * 1000, 200, None)
        predict.record(ms * 1000, 200, None)
    return LoadResult(
        scenario="performance",
        model=LoadModel.CLOSED,
        users=3,
        started_at=NOW,
        finished_at=NOW,
        measured_seconds=2,
        stop_reason=StopReason.DURATION,
        overall=overall.stats(2),
        requests={"predict": predict.stats(2)},
        bucket_seconds=1,
        series=[
            TimeBucket(start_seconds=0, requests=2, errors=0, throughput_rps=2, active_users=3),
            TimeBucket(start_seconds=1, requests=1, errors=0, throughput_rps=1, active_users=3),
        ],
    )


METRICS = (
    "# TYPE reference_model_update_seconds histogram\n"
    'reference_model_update_seconds_bucket{le="0.1"} %d\n'
    'reference_model_update_seconds_bucket{le="+Inf"} %d\n'
)


def test_load_evidence_round_trips(store: Store) -> None:
    store.begin_run("run-ev", profile="development", seed=1, config={})
    group = ProcessGroupSample(
        processes=2,
        cpu_percent=50,
        max_process_cpu_percent=40,
        rss_bytes=10,
        threads=3,
        open_files=4,
        sockets=1,
    )
    sample = ResourceSample(
        at=NOW,
        elapsed_seconds=1,
        host_cpu_percent=80,
        host_cpus=2,
        host_memory_percent=30,
        target=group,
        vigil=group,
    )
    plan = a_step("load_3")
    outcome = assemble_step(
        plan,
        [{"light/predict": a_result([10.0, 20.0, 30.0])}],
        metrics_before=METRICS % (1, 1),
        metrics_after=METRICS % (4, 5),
        resources=[sample],
    )
    evidence = evidence_of(outcome, LatencySloConfig())
    record_load_evidence(store, "run-ev", [evidence])
    # A retry replaces what was written before instead of adding to it.
    record_load_evidence(store, "run-ev", [evidence])

    [read] = load_evidence(store, "run-ev")
    assert read == evidence
    assert read.started_at == NOW and read.within_slo is True
    assert decode_histogram(read.histograms["overall"]).get_total_count() == 3
    assert read.histograms["target"]["model_update_seconds"] == {"0.1": 3.0, "+Inf": 4.0}
    assert [b["requests"] for b in read.series] == [2, 1]
    assert read.resources[0]["target"]["processes"] == 2
    assert read.summary["requests"]["overall"]["count"] == 3
    assert load_evidence(store, "run-ev", suite="workflow") == []
    assert not math.isnan(read.summary["measured_seconds"])
