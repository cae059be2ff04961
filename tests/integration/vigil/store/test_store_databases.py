"""The store on real SQLite and PostgreSQL: complete writes, honest states, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from vigil.errors import StoreError
from vigil.results import CheckResult, Measurement, Status, SuiteResult
from vigil.store import SQLITE_CACHE_KIB, RunStatus, Store, StoreMeta
from vigil.tables import VigilTable

pytestmark = pytest.mark.integration


def suite(name: str = "integration", checks: int = 3, failing: int = 0) -> SuiteResult:
    return SuiteResult(
        suite=name,
        checks=[
            CheckResult(
                name=f"check_{i}",
                status=Status.FAILED if i < failing else Status.PASSED,
                message=f"check {i}",
                measured={"value": float(i)},
            )
            for i in range(checks)
        ],
        measurements=[Measurement(name="pass_rate", value=(checks - failing) / checks, unit="")],
    )


def test_run_life_cycle_round_trips(store: Store) -> None:
    store.begin_run("run-1", profile="development", seed=42, config={"seed": 42})
    store.record_suite("run-1", suite(failing=1))
    store.finish_run("run-1", status=RunStatus.COMPLETED, verdict="failed")

    run = store.get_run("run-1")
    assert (run.status, run.verdict, run.seed) == ("completed", "failed", 42)
    assert run.finished_at is not None and run.finished_at >= run.started_at
    [stored] = store.suites("run-1")
    assert stored.status is Status.FAILED
    assert [c.name for c in stored.checks] == ["check_0", "check_1", "check_2"]
    assert stored.checks[2].measured == {"value": 2.0}
    assert stored.measurements[0].value == pytest.approx(2 / 3)
    assert store.suite_statuses("run-1") == {"integration": "failed"}


def test_recording_a_suite_again_replaces_it(store: Store) -> None:
    store.begin_run("run-2", profile="development", seed=1, config={})
    store.record_suite("run-2", suite(checks=5, failing=5))
    store.record_suite("run-2", suite(checks=2))
    [stored] = store.suites("run-2")
    assert len(stored.checks) == 2
    assert stored.status is Status.PASSED


def test_a_failed_write_leaves_no_partial_suite(store: Store) -> None:
    store.begin_run("run-3", profile="development", seed=1, config={})
    broken = suite(checks=2)
    # A check name longer than the column allows makes PostgreSQL refuse the insert;
    # SQLite ignores lengths, so there a duplicate run id in the foreign key stands in.
    too_long = CheckResult(name="x" * 300, status=Status.PASSED)
    broken.checks.append(too_long)
    if store.url.startswith("sqlite"):
        with pytest.raises(StoreError):
            store.record_suite("no-such-run", broken)
        assert store.suites("no-such-run") == []
    else:
        with pytest.raises(StoreError, match="too long"):
            store.record_suite("run-3", broken)
    assert store.suites("run-3") == []


def test_incidents_are_recorded_and_read_back_in_utc(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from vigil.store import IncidentRecord

    store.begin_run("run-i", profile="development", seed=1, config={})
    injected = datetime(2026, 11, 21, 12, 0, 0, 123000, tzinfo=UTC)
    store.record_incident(
        IncidentRecord(
            run_id="run-i",
            suite="workflow",
            fault="kill_worker",
            expected_kind="worker_crash",
            reported_kind="worker_crash",
            action="restart_worker",
            injected_at=injected,
            detected_at=injected + timedelta(seconds=1),
            recovered_at=injected + timedelta(seconds=3),
            evidence={"pid": 1234},
        )
    )
    [incident] = store.incidents("run-i")
    assert incident.recovered_at - incident.injected_at == timedelta(seconds=3)
    assert incident.injected_at == injected and incident.injected_at.tzinfo is not None
    assert incident.evidence == {"pid": 1234}


def test_duplicate_run_id_is_refused(store: Store) -> None:
    store.begin_run("run-4", profile="development", seed=1, config={})
    with pytest.raises(StoreError, match="run run-4 already exists"):
        store.begin_run("run-4", profile="development", seed=1, config={})


def test_unknown_run_names_the_fix(store: Store) -> None:
    with pytest.raises(StoreError, match="`vigil runs list` shows the runs"):
        store.get_run("nope")


def test_unique_prefix_finds_a_run(store: Store) -> None:
    store.begin_run("20261121T100000-abcdef", profile="staging", seed=1, config={})
    assert store.get_run("20261121T1000").profile == "staging"


def test_run_of_a_dead_process_is_marked_incomplete(store: Store) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.begin_run("run-5", profile="development", seed=1, config={})
    store.begin_run("run-6", profile="development", seed=1, config={})
    with store._session() as session:  # a run begun by a process that has since died
        session.execute(sa.text("UPDATE runs SET pid = :pid WHERE id = 'run-5'"), {"pid": dead.pid})
    assert store.reap_abandoned() == ["run-5"]
    reaped = store.get_run("run-5")
    assert reaped.status == RunStatus.INCOMPLETE
    assert f"pid {dead.pid}" in reaped.error
    assert store.get_run("run-6").status == RunStatus.RUNNING  # ours: still running


def test_schema_from_another_version_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    Store.open(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.update(StoreMeta).values(schema_version=999))
    engine.dispose()
    with pytest.raises(StoreError, match="schema version 999"):
        Store.open(url)


def test_sqlite_store_uses_write_ahead_logging_and_a_small_page_cache(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'wal.db'}")
    with store._session() as session:
        mode = session.execute(sa.text("PRAGMA journal_mode")).scalar()
        cache = session.execute(sa.text("PRAGMA cache_size")).scalar()
    store.close()
    assert mode == "wal"
    # Negative: KiB rather than pages; SQLite's own default is -2000.
    assert cache == -SQLITE_CACHE_KIB


def test_unreachable_postgres_names_the_url_without_password() -> None:
    with pytest.raises(StoreError) as caught:
        Store.open("postgresql+psycopg://vigil:hunter2@127.0.0.1:1/vigil")
    message = str(caught.value)
    assert "127.0.0.1:1" in message and "VIGIL_DATABASE_URL" in message
    assert "hunter2" not in message


def test_not_a_url() -> None:
    with pytest.raises(StoreError, match="is not a database URL"):
        Store.open("just some words")


def test_database_url_from_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from vigil.config import StoreConfig

    monkeypatch.setenv("VIGIL_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert StoreConfig(url="sqlite:///other.db").resolved_url().endswith("env.db")
    monkeypatch.delenv("VIGIL_DATABASE_URL")
    assert StoreConfig().resolved_url() == "sqlite:///.vigil/vigil.db"
    assert os.environ.get("VIGIL_DATABASE_URL") is None


def test_vigil_tables_stay_apart_from_the_reference_services(tmp_path: Path) -> None:
    from sqlmodel import SQLModel

    import reference.storage  # noqa: F401 -- puts the reference's tables in SQLModel's MetaData

    reference_tables = set(SQLModel.metadata.tables)
    assert {"prediction", "feedback"} <= reference_tables
    Store.open(f"sqlite:///{tmp_path / 'apart.db'}").close()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'apart.db'}")
    created = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert created == set(VigilTable.metadata.tables)
    assert not created & reference_tables
