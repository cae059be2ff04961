"""The soak's checkpoint tables on a real SQLite store: cycles, the fault journal, resume."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vigil.results import utc_now
from vigil.store import SoakCheckpoints, SoakStatus, Store

pytestmark = pytest.mark.integration


@pytest.fixture
def checkpoints(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    store.begin_run("soak-1", profile="development", seed=1, config={})
    yield SoakCheckpoints(store)
    store.close()


def test_cycles_are_kept_and_a_redone_cycle_replaces_its_checkpoint(checkpoints):
    first = checkpoints.begin_or_resume(
        "soak-1", run_id="soak-1", profile="development", config={"a": 1}, planned_cycles=3
    )
    assert first.attempts == 1 and first.status is SoakStatus.RUNNING
    now = utc_now()
    for cycle in (1, 2, 2):
        checkpoints.record_cycle(
            "soak-1",
            cycle,
            figures={"cycle": cycle, "p95_s": 0.1},
            histogram="HISTFAKE",
            started_at=now,
            finished_at=now + timedelta(seconds=15),
            series={"probe_ok": {"points": []}},
        )
    cycles = checkpoints.cycles("soak-1")
    assert [c.cycle for c in cycles] == [1, 2]
    assert cycles[0].histogram == "HISTFAKE" and cycles[0].started_at.tzinfo is not None
    again = checkpoints.begin_or_resume(
        "soak-1", run_id="soak-1", profile="development", config={"a": 1}, planned_cycles=3
    )
    assert again.attempts == 2
    assert again.started_at == first.started_at
    assert again.series == {"probe_ok": {"points": []}}


def test_the_fault_journal_knows_which_faults_are_still_active(checkpoints):
    checkpoints.begin_or_resume(
        "soak-1", run_id="soak-1", profile="development", config={}, planned_cycles=2
    )
    now = utc_now()
    first = checkpoints.open_fault(
        "soak-1",
        1,
        kind="worker_hang",
        processes=[{"pid": 10, "create_time": 1.0}],
        started_at=now,
        expires_at=now,
    )
    second = checkpoints.open_fault(
        "soak-1", 2, kind="worker_hang", processes=[], started_at=now, expires_at=now
    )
    checkpoints.close_fault(first, "rollback")
    active = checkpoints.faults("soak-1", active_only=True)
    assert [f.id for f in active] == [second]
    checkpoints.close_fault(second, "resume")
    checkpoints.close_fault(second, "finally")  # closing twice keeps the first closer
    entries = checkpoints.faults("soak-1")
    assert [f.reverted_by for f in entries] == ["rollback", "resume"]
    assert checkpoints.faults("soak-1", active_only=True) == []
