"""vigil's record of its runs: SQLModel tables on SQLite or PostgreSQL.

The store, not Prefect's database, is the record of a run. Every write is one
transaction, so a run interrupted at any point leaves complete suites or none.
A run whose process died while it was ``running`` is marked ``incomplete`` the
next time the store is opened on the same host (:meth:`Store.reap_abandoned`).
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, select

from vigil.config import StoreConfig
from vigil.criteria import CriterionOutcome, Verdict
from vigil.errors import StoreError
from vigil.results import CheckResult, Measurement, Severity, Status, SuiteResult, utc_now
from vigil.tables import VigilTable

SCHEMA_VERSION = 2


def _timestamp() -> Any:
    return sa.Column(sa.DateTime(timezone=True), nullable=True)


class RunStatus(StrEnum):
    """Life-cycle states of a run in the store."""

    RUNNING = "running"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    ERROR = "error"


class StoreMeta(VigilTable, table=True):
    """One row: the schema version the database was created with."""

    __tablename__ = "vigil_meta"

    id: int = Field(default=1, primary_key=True)
    schema_version: int


class RunRecord(VigilTable, table=True):
    """A validation run."""

    __tablename__ = "runs"

    id: str = Field(primary_key=True, max_length=64)
    profile: str = Field(max_length=64)
    seed: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    status: RunStatus = Field(default=RunStatus.RUNNING, sa_type=sa.String(16), index=True)
    verdict: Verdict | None = Field(default=None, sa_type=sa.String(16))
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=_timestamp())
    target_name: str = Field(default="", max_length=64)
    report_dir: str = Field(default="", max_length=1024)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    host: str = Field(default="", max_length=255)
    pid: int = 0
    flow_run_id: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class SuiteRecord(VigilTable, table=True):
    """One suite's outcome within a run."""

    __tablename__ = "suite_results"
    __table_args__ = (sa.UniqueConstraint("run_id", "suite"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=64)
    suite: str = Field(max_length=64)
    status: Status = Field(sa_type=sa.String(16))
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    finished_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class CheckRecord(VigilTable, table=True):
    """One check's outcome within a suite."""

    __tablename__ = "check_results"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=64)
    suite: str = Field(max_length=64)
    name: str = Field(max_length=255)
    status: Status = Field(sa_type=sa.String(16))
    severity: Severity = Field(sa_type=sa.String(8))
    message: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    measured: dict[str, float] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    finished_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class MeasurementRecord(VigilTable, table=True):
    """A number a suite measured."""

    __tablename__ = "measurements"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=64)
    suite: str = Field(max_length=64)
    name: str = Field(max_length=128)
    value: float
    unit: str = Field(default="", max_length=32)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    recorded_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class IncidentRecord(VigilTable, table=True):
    """A fault vigil injected, and what the target reported about it."""

    __tablename__ = "incidents"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=64)
    suite: str = Field(max_length=64)
    fault: str = Field(max_length=64)
    expected_kind: str = Field(default="", max_length=64)
    reported_kind: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=64)
    injected_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    detected_at: datetime | None = Field(default=None, sa_column=_timestamp())
    recovered_at: datetime | None = Field(default=None, sa_column=_timestamp())
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))


class CriterionRecord(CriterionOutcome, table=True):
    """A success criterion as judged for a run (the fields are :class:`CriterionOutcome`'s)."""

    __tablename__ = "criterion_outcomes"
    __table_args__ = (sa.UniqueConstraint("run_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=64)


def _as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything vigil stores is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _describe_url(url: str) -> str:
    """The URL with any password hidden, for error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


class Store:
    """Reads and writes runs; one instance per process, safe to share across threads."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Open (and if new, create) the store at a SQLAlchemy URL.

        Raises:
            StoreError: the URL is invalid, the database is unreachable, or its
                schema is from another vigil version.
        """
        shown = _describe_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"store URL {url!r} is not a database URL: {exc}") from exc
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = sa.create_engine(
                url, pool_pre_ping=True, connect_args=_connect_timeout(parsed.get_backend_name())
            )
        except (ArgumentError, ImportError) as exc:
            raise StoreError(f"store URL {shown} cannot be used: {exc}") from exc
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        try:
            VigilTable.metadata.create_all(engine)
            store._check_schema()
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(
                f"cannot open the store at {shown}: {getattr(exc, 'orig', None) or exc}; "
                "check that the database server runs and the URL (VIGIL_DATABASE_URL) is right"
            ) from exc
        return store

    def close(self) -> None:
        """Release the store's connections."""
        self._engine.dispose()

    @property
    def url(self) -> str:
        """The store's URL with any password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with Session(self._engine, expire_on_commit=False) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.url}: {getattr(exc, 'orig', None) or exc}") from exc

    def _check_schema(self) -> None:
        with self._session() as session:
            meta = session.get(StoreMeta, 1)
            if meta is None:
                session.add(StoreMeta(schema_version=SCHEMA_VERSION))
            elif meta.schema_version != SCHEMA_VERSION:
                raise StoreError(
                    f"store {self.url} has schema version {meta.schema_version}, this vigil "
                    f"writes version {SCHEMA_VERSION}; point VIGIL_DATABASE_URL at a new database"
                )

    # --- writing -------------------------------------------------------------------------------

    def begin_run(
        self,
        run_id: str,
        *,
        profile: str,
        seed: int,
        config: dict[str, Any],
        target_name: str = "",
        report_dir: str = "",
        flow_run_id: str | None = None,
    ) -> RunRecord:
        """Record a new run as running, owned by this process."""
        record = RunRecord(
            id=run_id,
            profile=profile,
            seed=seed,
            started_at=utc_now(),
            target_name=target_name,
            report_dir=report_dir,
            config=json.loads(json.dumps(config, default=str)),
            host=socket.gethostname(),
            pid=os.getpid(),
            flow_run_id=flow_run_id,
        )
        with self._session() as session:
            if session.get(RunRecord, run_id) is not None:
                raise StoreError(f"run {run_id} already exists in store {self.url}")
            session.add(record)
        return record

    def record_suite(self, run_id: str, result: SuiteResult) -> None:
        """Write a suite, its checks and measurements in one transaction (replacing a retry's)."""
        with self._session() as session:
            for table in (SuiteRecord, CheckRecord, MeasurementRecord):
                session.execute(
                    sa.delete(table).where(table.run_id == run_id, table.suite == result.suite)
                )
            session.add(
                SuiteRecord(
                    run_id=run_id,
                    suite=result.suite,
                    status=result.status,
                    started_at=result.started_at,
                    finished_at=result.finished_at,
                )
            )
            session.add_all(
                CheckRecord(
                    run_id=run_id,
                    suite=result.suite,
                    name=check.name,
                    status=check.status,
                    severity=check.severity,
                    message=check.message,
                    measured=dict(check.measured),
                    started_at=check.started_at,
                    finished_at=check.finished_at,
                )
                for check in result.checks
            )
            session.add_all(
                MeasurementRecord(
                    run_id=run_id,
                    suite=result.suite,
                    name=m.name,
                    value=m.value,
                    unit=m.unit,
                    context=dict(m.context),
                    recorded_at=utc_now(),
                )
                for m in result.measurements
            )

    def record_incident(self, record: IncidentRecord) -> None:
        """Write one injected fault and what the target reported."""
        with self._session() as session:
            session.add(record)

    def record_criteria(self, run_id: str, outcomes: list[CriterionOutcome]) -> None:
        """Replace the run's criterion outcomes with `outcomes`, in one transaction."""
        with self._session() as session:
            session.execute(sa.delete(CriterionRecord).where(CriterionRecord.run_id == run_id))
            session.add_all(
                CriterionRecord(run_id=run_id, **outcome.model_dump()) for outcome in outcomes
            )

    def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        verdict: Verdict | None,
        error: str | None = None,
    ) -> None:
        """Mark a run as ended."""
        with self._session() as session:
            record = session.get(RunRecord, run_id)
            if record is None:
                raise StoreError(f"run {run_id} is not in store {self.url}")
            record.status = status
            record.verdict = verdict
            record.error = error
            record.finished_at = utc_now()

    def reap_abandoned(self) -> list[str]:
        """Mark this host's running runs whose process is gone as incomplete; return their ids."""
        host = socket.gethostname()
        reaped = []
        with self._session() as session:
            running = session.exec(
                select(RunRecord).where(
                    RunRecord.status == RunStatus.RUNNING, RunRecord.host == host
                )
            ).all()
            for record in running:
                if record.pid == os.getpid() or _alive(record.pid, record.started_at):
                    continue
                record.status = RunStatus.INCOMPLETE
                record.finished_at = utc_now()
                record.error = f"the vigil process (pid {record.pid}) ended before the run finished"
                reaped.append(record.id)
        return reaped

    # --- reading -------------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id (a unique prefix is enough)."""
        with self._session() as session:
            record = session.get(RunRecord, run_id)
            if record is None:
                matches = session.exec(
                    select(RunRecord).where(RunRecord.id.startswith(run_id)).limit(2)
                ).all()
                if len(matches) == 1:
                    record = matches[0]
            if record is None:
                raise StoreError(
                    f"no run {run_id!r} in store {self.url}; `vigil runs list` shows the runs"
                )
            return _normalised(record)

    def list_runs(self, limit: int = 20) -> list[RunRecord]:
        """The most recent runs, newest first."""
        with self._session() as session:
            rows = session.exec(
                select(RunRecord).order_by(RunRecord.started_at.desc()).limit(limit)
            ).all()
            return [_normalised(r) for r in rows]

    def finished_runs(self, run_ids: Iterable[str]) -> dict[str, datetime]:
        """Which of these runs are over for good, each with when it started.

        Over for good means not running and not a soak that can still be resumed: a soak
        is over only once it has completed. Ids the store does not know are left out.
        """
        wanted = list(run_ids)
        if not wanted:
            return {}
        with self._session() as session:
            rows = session.exec(
                select(RunRecord, SoakRecord.status)
                .join(SoakRecord, SoakRecord.id == RunRecord.id, isouter=True)
                .where(RunRecord.id.in_(wanted), RunRecord.status != RunStatus.RUNNING)
            ).all()
            return {
                record.id: _normalised(record).started_at
                for record, soak_status in rows
                if soak_status in (None, SoakStatus.COMPLETED)
            }

    def suites(self, run_id: str) -> list[SuiteResult]:
        """The run's suites with their checks and measurements, in the order they ran."""
        with self._session() as session:
            suites = session.exec(
                select(SuiteRecord).where(SuiteRecord.run_id == run_id).order_by(SuiteRecord.id)
            ).all()
            checks = session.exec(
                select(CheckRecord).where(CheckRecord.run_id == run_id).order_by(CheckRecord.id)
            ).all()
            measurements = session.exec(
                select(MeasurementRecord)
                .where(MeasurementRecord.run_id == run_id)
                .order_by(MeasurementRecord.id)
            ).all()
        return [
            SuiteResult(
                suite=s.suite,
                started_at=_as_utc(s.started_at),
                finished_at=_as_utc(s.finished_at),
                checks=[
                    CheckResult(
                        name=c.name,
                        status=c.status,
                        severity=c.severity,
                        message=c.message,
                        measured=c.measured or {},
                        started_at=_as_utc(c.started_at),
                        finished_at=_as_utc(c.finished_at),
                    )
                    for c in checks
                    if c.suite == s.suite
                ],
                measurements=[
                    Measurement(name=m.name, value=m.value, unit=m.unit, context=m.context or {})
                    for m in measurements
                    if m.suite == s.suite
                ],
            )
            for s in suites
        ]

    def suite_statuses(self, run_id: str) -> dict[str, Status]:
        """Status of each suite the run recorded, by name (as stored, not recomputed)."""
        with self._session() as session:
            rows = session.exec(select(SuiteRecord).where(SuiteRecord.run_id == run_id)).all()
            return {row.suite: Status(row.status) for row in rows}

    def criteria(self, run_id: str) -> list[CriterionOutcome]:
        """The run's criterion outcomes, in the order they were judged."""
        with self._session() as session:
            rows = session.exec(
                select(CriterionRecord)
                .where(CriterionRecord.run_id == run_id)
                .order_by(CriterionRecord.id)
            ).all()
            return [CriterionOutcome.model_validate(row, from_attributes=True) for row in rows]

    def incidents(self, run_id: str) -> list[IncidentRecord]:
        """The faults injected during the run."""
        with self._session() as session:
            rows = session.exec(
                select(IncidentRecord)
                .where(IncidentRecord.run_id == run_id)
                .order_by(IncidentRecord.id)
            ).all()
            for row in rows:
                for name in ("injected_at", "detected_at", "recovered_at"):
                    setattr(row, name, _as_utc(getattr(row, name)))
            return list(rows)

    # --- the journal of active faults (see ActiveFaultRecord) ------------------------------------

    def journal_fault(self, record: ActiveFaultRecord) -> None:
        """Note a fault as active before it is applied, so a later vigil can revert it."""
        with self._session() as session:
            session.merge(record)

    def clear_fault(self, fault_id: str) -> None:
        """Forget a fault once its rollback held."""
        with self._session() as session:
            session.execute(sa.delete(ActiveFaultRecord).where(ActiveFaultRecord.id == fault_id))

    def active_faults(self) -> list[ActiveFaultRecord]:
        """Faults applied and not yet reverted, oldest first."""
        with self._session() as session:
            rows = session.exec(
                select(ActiveFaultRecord).order_by(ActiveFaultRecord.started_at)
            ).all()
            for row in rows:
                row.started_at = _as_utc(row.started_at)
                row.expires_at = _as_utc(row.expires_at)
            return list(rows)

    # --- the patterns part's windows and the readiness drills (tables further down) --------------

    def record_pattern_windows(self, run_id: str, windows: list[PatternWindowRecord]) -> None:
        """Replace the run's labelled and reported pattern windows, in one transaction."""
        with self._session() as session:
            session.execute(
                sa.delete(PatternWindowRecord).where(PatternWindowRecord.run_id == run_id)
            )
            for window in windows:
                window.run_id = run_id
            session.add_all(windows)

    def pattern_windows(self, run_id: str) -> list[PatternWindowRecord]:
        """The run's labelled and reported pattern windows, by start."""
        with self._session() as session:
            rows = session.exec(
                select(PatternWindowRecord)
                .where(PatternWindowRecord.run_id == run_id)
                .order_by(PatternWindowRecord.start, PatternWindowRecord.id)
            ).all()
            for row in rows:
                row.start, row.end = _as_utc(row.start), _as_utc(row.end)
            return list(rows)

    def record_drills(self, run_id: str, drills: list[DrillRecord]) -> None:
        """Replace the run's drills with `drills`, in one transaction."""
        with self._session() as session:
            session.execute(sa.delete(DrillRecord).where(DrillRecord.run_id == run_id))
            # Fresh rows, so that records written once before (a retry) are inserted again.
            session.add_all(
                DrillRecord(**d.model_dump(exclude={"id", "run_id"}), run_id=run_id) for d in drills
            )

    def drills(self, run_id: str) -> list[DrillRecord]:
        """The run's drills, in the order they started."""
        with self._session() as session:
            rows = session.exec(
                select(DrillRecord)
                .where(DrillRecord.run_id == run_id)
                .order_by(DrillRecord.started_at, DrillRecord.id)
            ).all()
        for row in rows:
            row.started_at = _as_utc(row.started_at)
            row.finished_at = _as_utc(row.finished_at)
        return list(rows)

    def record_probe_series(self, run_id: str, suite: str, points: list[ProbeSeriesRecord]) -> None:
        """Replace the suite's probe series for the run with `points`, in one transaction."""
        with self._session() as session:
            session.execute(
                sa.delete(ProbeSeriesRecord).where(
                    ProbeSeriesRecord.run_id == run_id, ProbeSeriesRecord.suite == suite
                )
            )
            session.add_all(
                ProbeSeriesRecord(
                    **p.model_dump(exclude={"id", "run_id", "suite"}), run_id=run_id, suite=suite
                )
                for p in points
            )

    def probe_series(self, run_id: str, suite: str = "readiness") -> list[ProbeSeriesRecord]:
        """The suite's probe counts per second, oldest first."""
        with self._session() as session:
            rows = session.exec(
                select(ProbeSeriesRecord)
                .where(ProbeSeriesRecord.run_id == run_id, ProbeSeriesRecord.suite == suite)
                .order_by(ProbeSeriesRecord.second)
            ).all()
        for row in rows:
            row.second = _as_utc(row.second)
        return list(rows)


def _normalised(record: RunRecord) -> RunRecord:
    """Give a loaded run its types back: UTC instants, enum statuses."""
    record.status = RunStatus(record.status)
    record.verdict = Verdict(record.verdict) if record.verdict else None
    record.started_at = _as_utc(record.started_at)
    record.finished_at = _as_utc(record.finished_at)
    return record


def _alive(pid: int, started_at: datetime) -> bool:
    """Whether `pid` is still the process that began a run at `started_at`."""
    try:
        process = psutil.Process(pid)
        created = datetime.fromtimestamp(process.create_time(), UTC)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return created <= _as_utc(started_at)


CONNECT_TIMEOUT_S = 10
"""How long opening a connection to the store may take before it is an error."""


def _connect_timeout(backend: str) -> dict[str, Any]:
    """The driver's own connect timeout, so an unreachable database fails in seconds."""
    if backend == "postgresql":
        return {"connect_timeout": CONNECT_TIMEOUT_S}
    if backend == "sqlite":
        return {"timeout": CONNECT_TIMEOUT_S}
    return {}


SQLITE_CACHE_KIB = 128
"""Page cache per SQLite connection of the store, against SQLite's default of 2000 KiB.

The store is written far more than it is read (a soak appends a checkpoint per cycle and reads
them back once, at the end), and the operating system's file cache holds its pages anyway. A
full default cache per pooled connection was most of a soak's memory growth without Prefect
(``benchmarks/soak/RESULTS.md``, finding 7)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


_OPEN_STORES: dict[str, Store] = {}
_OPEN_STORES_LOCK = threading.Lock()


def open_store(config: StoreConfig) -> Store:
    """The process's store for `config`, opened once and then shared (tasks run in threads).

    The URL is resolved here, in-process, so that a password in
    ``VIGIL_DATABASE_URL`` never travels as a flow or task parameter.
    """
    url = config.resolved_url()
    with _OPEN_STORES_LOCK:
        store = _OPEN_STORES.get(url)
        if store is None:
            store = _OPEN_STORES[url] = Store.open(url)
    return store


# --- the learning curve (the learning part of the workflow suite) ---------------------------


class LearningDayRecord(VigilTable, table=True):
    """The target's prequential quality on one simulated day of the learning replay."""

    __tablename__ = "learning_days"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=64)
    day: int = Field(ge=0, description="Simulated day, 0-based.")
    accuracy: float | None = Field(default=None, description="None when no prediction was scored.")
    log_loss: float | None = Field(default=None)
    count: int = Field(ge=0, description="Predictions scored that day.")
    recorded_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


def record_learning_curve(store: Store, run_id: str, days: list[dict[str, Any]]) -> None:
    """Replace the run's learning curve with `days` in one transaction.

    Args:
        store: The open store.
        run_id: A run already begun in the store.
        days: One mapping per day with ``day``, ``accuracy``, ``log_loss``, ``count``
            (NaN quality is stored as NULL).
    """
    now = utc_now()

    def finite(value: Any) -> float | None:
        return None if value is None or value != value else float(value)

    with store._session() as session:
        session.execute(sa.delete(LearningDayRecord).where(LearningDayRecord.run_id == run_id))
        session.add_all(
            LearningDayRecord(
                run_id=run_id,
                day=int(row["day"]),
                accuracy=finite(row["accuracy"]),
                log_loss=finite(row["log_loss"]),
                count=int(row["count"]),
                recorded_at=now,
            )
            for row in days
        )


def learning_curve(store: Store, run_id: str) -> list[LearningDayRecord]:
    """The run's learning curve, one record per simulated day in order (empty if none)."""
    with store._session() as session:
        rows = session.exec(
            select(LearningDayRecord)
            .where(LearningDayRecord.run_id == run_id)
            .order_by(LearningDayRecord.day)
        ).all()
        for row in rows:
            row.recorded_at = _as_utc(row.recorded_at)
        return list(rows)


# --- load evidence (the performance suite's histograms, series and resource samples) -----------


class LoadRunRecord(VigilTable, table=True):
    """One load step of a suite: its encoded histograms, time series and resource samples."""

    __tablename__ = "load_runs"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=64)
    suite: str = Field(max_length=64)
    step: str = Field(max_length=128)
    phase: str = Field(max_length=32)
    users: int
    within_slo: bool | None = None
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    finished_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    histograms: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    series: list[Any] = Field(default_factory=list, sa_column=sa.Column(sa.JSON))
    resources: list[Any] = Field(default_factory=list, sa_column=sa.Column(sa.JSON))


class LoadEvidence(SQLModel):
    """What the store keeps of one load step, as suites hand it over and reports read it.

    Everything in it is JSON already (bucket bounds as text, ``"+Inf"`` included).
    """

    model_config = {"extra": "forbid", "frozen": True}

    suite: str
    step: str
    phase: str
    users: int
    within_slo: bool | None = None
    started_at: datetime
    finished_at: datetime
    summary: dict[str, Any] = Field(
        default_factory=dict, description="Counts, errors, percentiles (ms), throughput by name."
    )
    histograms: dict[str, Any] = Field(
        default_factory=dict,
        description="Encoded HDR histograms (µs) by request name ('overall' included), and the "
        "target's own bucket counts under 'target'.",
    )
    series: list[dict[str, Any]] = Field(default_factory=list, description="Per-slice traffic.")
    resources: list[dict[str, Any]] = Field(default_factory=list, description="Resource samples.")


def record_load_evidence(store: Store, run_id: str, evidence: list[LoadEvidence]) -> None:
    """Write a suite's load steps in one transaction, replacing what a retry wrote before."""
    suites = {e.suite for e in evidence}
    with store._session() as session:
        for suite in suites:
            session.execute(
                sa.delete(LoadRunRecord).where(
                    LoadRunRecord.run_id == run_id, LoadRunRecord.suite == suite
                )
            )
        session.add_all(LoadRunRecord(run_id=run_id, **e.model_dump()) for e in evidence)


def load_evidence(store: Store, run_id: str, suite: str | None = None) -> list[LoadEvidence]:
    """A run's load steps in the order they were recorded (of one suite, if given)."""
    with store._session() as session:
        query = select(LoadRunRecord).where(LoadRunRecord.run_id == run_id)
        if suite is not None:
            query = query.where(LoadRunRecord.suite == suite)
        rows = session.exec(query.order_by(LoadRunRecord.id)).all()
        return [
            LoadEvidence.model_validate(
                {
                    **row.model_dump(exclude={"id", "run_id"}),
                    "started_at": _as_utc(row.started_at),
                    "finished_at": _as_utc(row.finished_at),
                }
            )
            for row in rows
        ]


# --- pattern windows (the workflow suite's patterns part) -------------------------------------


class PatternWindowRecord(VigilTable, table=True):
    """One labelled or reported anomaly window of a pattern analysis, and how it was scored."""

    __tablename__ = "pattern_windows"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=64)
    side: str = Field(max_length=8, description="`truth` (the generator's) or `report` (target's).")
    metric: str = Field(max_length=128)
    kind: str = Field(max_length=64)
    start: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    end: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    outcome: str = Field(
        max_length=16,
        description="truth: detected / missed / event; report: true / false / neutral.",
    )


class ActiveFaultRecord(VigilTable, table=True):
    """A fault vigil applied and has not reverted yet: what a later vigil needs to revert it.

    Written before the fault is applied and deleted once its rollback held, so a
    row left behind means the vigil process that applied it died (or could not
    revert it). Not tied to the runs table: the journal must work even when the run
    record was never written.
    """

    __tablename__ = "active_faults"

    id: str = Field(primary_key=True, max_length=64)
    run_id: str = Field(default="", max_length=64, index=True)
    kind: str = Field(max_length=64)
    label: str = Field(default="", max_length=64)
    target_name: str = Field(default="", max_length=64)
    host: str = Field(default="", max_length=255)
    owner_pid: int = 0
    """The vigil process that applied the fault."""
    owner_started_at: float = 0.0
    """Its creation time (epoch seconds), so a reused pid is not mistaken for it."""
    pids: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON))
    """Processes the fault touched: ``{"pid", "create_time"}``."""
    container_id: str | None = Field(default=None, max_length=128)
    proxy_port: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


# --- readiness drills and their probe timeline -------------------------------------------------
# Kept together at the end of the module so the readiness suite's tables and methods stay
# one self-contained block; the methods are attached to Store below.


class DrillRecord(VigilTable, table=True):
    """One readiness drill (deploy, rollback, backup/restore, security) and its evidence."""

    __tablename__ = "readiness_drills"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=64)
    drill: str = Field(max_length=64)
    status: str = Field(max_length=16)
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    finished_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    excluded_from_availability: bool = False
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))


class ProbeSeriesRecord(VigilTable, table=True):
    """Probe counts of one second of a run's probe stream (the deploy timeline)."""

    __tablename__ = "probe_series"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=64)
    suite: str = Field(max_length=64)
    second: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    sent: int
    good: int
    failed: int
    max_latency_ms: float | None = None


# --- the soak's checkpoints ------------------------------------------------------------------


class SoakStatus(StrEnum):
    """Life-cycle states of a soak."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"


class SoakRecord(VigilTable, table=True):
    """A soak: its settings, its progress, and its bounded tiered series (JSON)."""

    __tablename__ = "soaks"

    id: str = Field(primary_key=True, max_length=64)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=64)
    profile: str = Field(max_length=64)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    planned_cycles: int
    status: SoakStatus = Field(default=SoakStatus.RUNNING, sa_type=sa.String(16))
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    attempts: int = Field(default=1, description="How many times the soak was started or resumed.")
    host: str = Field(default="", max_length=255)
    pid: int = 0
    series: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))


class SoakCycleRecord(VigilTable, table=True):
    """One completed soak cycle: its figures and its encoded latency histogram."""

    __tablename__ = "soak_cycles"
    __table_args__ = (sa.UniqueConstraint("soak_id", "cycle"),)

    id: int | None = Field(default=None, primary_key=True)
    soak_id: str = Field(foreign_key="soaks.id", index=True, max_length=64)
    cycle: int
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    histogram: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    finished_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class SoakFaultRecord(VigilTable, table=True):
    """The soak's fault journal: written before a fault acts, closed once it is reverted."""

    __tablename__ = "soak_faults"

    id: int | None = Field(default=None, primary_key=True)
    soak_id: str = Field(foreign_key="soaks.id", index=True, max_length=64)
    cycle: int
    kind: str = Field(max_length=64)
    processes: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON))
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    reverted_at: datetime | None = Field(default=None, sa_column=_timestamp())
    reverted_by: str | None = Field(default=None, max_length=32)


class SoakCheckpoints:
    """The soak's reads and writes on a :class:`Store`; every write is one transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def begin_or_resume(
        self,
        soak_id: str,
        *,
        run_id: str,
        profile: str,
        config: dict[str, Any],
        planned_cycles: int,
    ) -> SoakRecord:
        """Record a new soak, or mark an existing one running again (attempts + 1)."""
        now = utc_now()
        with self._store._session() as session:
            record = session.get(SoakRecord, soak_id)
            if record is None:
                record = SoakRecord(
                    id=soak_id,
                    run_id=run_id,
                    profile=profile,
                    config=json.loads(json.dumps(config, default=str)),
                    planned_cycles=planned_cycles,
                    started_at=now,
                    updated_at=now,
                )
                session.add(record)
            else:
                record.attempts += 1
                record.planned_cycles = planned_cycles
                record.status = SoakStatus.RUNNING
                record.updated_at = now
            record.host = socket.gethostname()
            record.pid = os.getpid()
        return _soak_normalised(record)

    def reopen_run(self, run_id: str) -> None:
        """Mark a resumed soak's run running again, owned by this process."""
        with self._store._session() as session:
            record = session.get(RunRecord, run_id)
            if record is None:
                raise StoreError(f"run {run_id} is not in store {self._store.url}")
            record.status = RunStatus.RUNNING
            record.verdict = None
            record.finished_at = None
            record.error = None
            record.host = socket.gethostname()
            record.pid = os.getpid()

    def get(self, soak_id: str) -> SoakRecord | None:
        """The soak with this id, if any."""
        with self._store._session() as session:
            record = session.get(SoakRecord, soak_id)
            return _soak_normalised(record) if record is not None else None

    def record_cycle(
        self,
        soak_id: str,
        cycle: int,
        *,
        figures: dict[str, Any],
        histogram: str,
        started_at: datetime,
        finished_at: datetime,
        series: dict[str, Any],
    ) -> None:
        """Checkpoint one completed cycle and the soak's series, in one transaction."""
        with self._store._session() as session:
            session.execute(
                sa.delete(SoakCycleRecord).where(
                    SoakCycleRecord.soak_id == soak_id, SoakCycleRecord.cycle == cycle
                )
            )
            session.add(
                SoakCycleRecord(
                    soak_id=soak_id,
                    cycle=cycle,
                    figures=json.loads(json.dumps(figures, default=str)),
                    histogram=histogram,
                    started_at=started_at,
                    finished_at=finished_at,
                )
            )
            soak = session.get(SoakRecord, soak_id)
            if soak is None:
                raise StoreError(f"soak {soak_id} is not in store {self._store.url}")
            soak.series = series
            soak.updated_at = utc_now()

    def cycles(self, soak_id: str) -> list[SoakCycleRecord]:
        """The soak's completed cycles, in cycle order."""
        with self._store._session() as session:
            rows = session.exec(
                select(SoakCycleRecord)
                .where(SoakCycleRecord.soak_id == soak_id)
                .order_by(SoakCycleRecord.cycle)
            ).all()
            for row in rows:
                row.started_at = _as_utc(row.started_at)
                row.finished_at = _as_utc(row.finished_at)
            return list(rows)

    def open_fault(
        self,
        soak_id: str,
        cycle: int,
        *,
        kind: str,
        processes: list[dict[str, Any]],
        started_at: datetime,
        expires_at: datetime,
    ) -> int:
        """Journal a fault about to be injected; returns its journal id."""
        record = SoakFaultRecord(
            soak_id=soak_id,
            cycle=cycle,
            kind=kind,
            processes=processes,
            started_at=started_at,
            expires_at=expires_at,
        )
        with self._store._session() as session:
            session.add(record)
            session.flush()
            return int(record.id or 0)

    def close_fault(self, fault_id: int, reverted_by: str) -> None:
        """Mark a journalled fault as reverted (by ``rollback`` or by ``resume``)."""
        with self._store._session() as session:
            record = session.get(SoakFaultRecord, fault_id)
            if record is not None and record.reverted_at is None:
                record.reverted_at = utc_now()
                record.reverted_by = reverted_by

    def faults(self, soak_id: str, *, active_only: bool = False) -> list[SoakFaultRecord]:
        """The soak's journalled faults (only those never reverted, if `active_only`)."""
        with self._store._session() as session:
            query = select(SoakFaultRecord).where(SoakFaultRecord.soak_id == soak_id)
            if active_only:
                query = query.where(SoakFaultRecord.reverted_at.is_(None))
            rows = session.exec(query.order_by(SoakFaultRecord.id)).all()
            for row in rows:
                for name in ("started_at", "expires_at", "reverted_at"):
                    setattr(row, name, _as_utc(getattr(row, name)))
            return list(rows)

    def finish(self, soak_id: str, status: SoakStatus) -> None:
        """Mark the soak completed or interrupted."""
        with self._store._session() as session:
            record = session.get(SoakRecord, soak_id)
            if record is not None:
                record.status = status
                record.updated_at = utc_now()


def _soak_normalised(record: SoakRecord) -> SoakRecord:
    record.status = SoakStatus(record.status)
    record.started_at = _as_utc(record.started_at)
    record.updated_at = _as_utc(record.updated_at)
    return record
