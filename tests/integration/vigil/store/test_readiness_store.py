"""The readiness tables at the end of vigil's store, on real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigil.store import DrillRecord, ProbeSeriesRecord, Store

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vigil.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = Store.open(url)
    try:
        yield opened
    finally:
        opened.close()


def drill(name: str, start: float, **fields) -> DrillRecord:
    fields.setdefault("status", "passed")
    return DrillRecord(
        run_id="",
        drill=name,
        started_at=T0 + timedelta(seconds=start),
        finished_at=T0 + timedelta(seconds=start + 1),
        **fields,
    )


def test_drills_and_the_probe_timeline_round_trip_and_a_retry_replaces_them(store: Store):
    store.begin_run("r1", profile="development", seed=1, config={})
    store.record_drills(
        "r1",
        [
            drill("security", 9, evidence={"leaks": []}),
            drill("destroy_data", 3, status="fault", excluded_from_availability=True),
            drill("deploy", 1, evidence={"version": "v2", "gate": {"passed": True}}),
        ],
    )
    points = [
        ProbeSeriesRecord(run_id="", suite="", second=T0 + timedelta(seconds=s), sent=10,
                          good=10 - (s == 3), failed=int(s == 3), max_latency_ms=2.5)
        for s in range(5)
    ]  # fmt: skip
    store.record_probe_series("r1", "readiness", points)

    drills = store.drills("r1")
    assert [d.drill for d in drills] == ["deploy", "destroy_data", "security"]
    assert drills[0].evidence == {"version": "v2", "gate": {"passed": True}}
    assert drills[1].excluded_from_availability and drills[1].started_at == T0 + timedelta(
        seconds=3
    )
    series = store.probe_series("r1")
    assert [(p.second - T0).total_seconds() for p in series] == [0, 1, 2, 3, 4]
    assert sum(p.failed for p in series) == 1 and series[0].second.tzinfo is not None

    store.record_drills("r1", [drill("deploy", 0)])
    store.record_probe_series("r1", "readiness", points[:2])
    assert [d.drill for d in store.drills("r1")] == ["deploy"]
    assert len(store.probe_series("r1")) == 2
    assert store.drills("other") == []
