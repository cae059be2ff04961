"""SQLModel tables of the service and the queries run against them (SQLite or PostgreSQL)."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from reference.scoring import log_loss

logger = logging.getLogger("reference.storage")


def utc_now() -> datetime:
    """Timezone-aware UTC now (SQLModel stores it as UTC on both backends)."""
    return datetime.now(UTC)


def iso_utc(moment: datetime | None) -> str | None:
    """Millisecond ISO-8601 in UTC with a ``Z`` suffix (naive values are UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


class Prediction(SQLModel, table=True):
    """A served prediction, kept so later feedback can find what was served."""

    request_id: str = Field(primary_key=True, max_length=64)
    features: str = Field(description="The request's features as JSON text.")
    score: float
    prediction: int
    model_version: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utc_now)


class Feedback(SQLModel, table=True):
    """A true label, scored against the prediction it labels (prequential evaluation)."""

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=64, unique=True)
    label: int
    score: float = Field(description="The score served with the labelled prediction.")
    prediction: int
    model_version: str = Field(max_length=32, index=True)
    correct: int
    log_loss: float
    recorded_at: datetime = Field(
        default_factory=utc_now,
        description="When the label was written (or buffered, in degraded mode).",
    )


class FeedbackTotals(SQLModel, table=True):
    """Running prequential totals of all feedback, updated in the same transactions.

    Summing the whole feedback table on every /evaluation would slow down as a
    long soak piles up millions of labels.
    """

    id: int = Field(default=1, primary_key=True)
    count: int = 0
    correct: int = 0
    log_loss_sum: float = 0.0


class ModelVersion(SQLModel, table=True):
    """A model version: initial, deployed, or created by a drift reset."""

    name: str = Field(primary_key=True, max_length=32)
    number: int = Field(unique=True)
    parent: str | None = Field(default=None, max_length=32)
    reason: str = Field(max_length=16)
    learning_rate: float
    corrupt: bool = False
    created_at: datetime = Field(default_factory=utc_now)
    first_feedback_id: int = Field(description="Feedback after this id was served by it.")


class ActiveModel(SQLModel, table=True):
    """The single row naming the version every worker serves."""

    id: int = Field(default=1, primary_key=True)
    version: str = Field(max_length=32)
    changed_at: datetime = Field(default_factory=utc_now)


class ModelCheckpoint(SQLModel, table=True):
    """A pickled learner state of one version, valid up to ``feedback_id``."""

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=32, index=True)
    feedback_id: int
    created_at: datetime = Field(default_factory=utc_now)
    state: bytes = Field(sa_type=sa.LargeBinary)


class Incident(SQLModel, table=True):
    """A mirror of the supervisor's incident log."""

    id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=32)
    action: str = Field(max_length=32)
    detected_at: datetime
    recovered_at: datetime | None = None
    evidence: str = Field(description="Evidence as JSON text.")


POSTGRES_SETTLE_S = 2.0
"""Age at which a PostgreSQL feedback row can no longer be overtaken by a lower id."""

INSERT_CHUNK_ROWS = 500
"""Rows per multi-row INSERT: below SQLite's and PostgreSQL's bound-parameter limits."""

BACKED_UP_TABLES = [
    Prediction,
    Feedback,
    FeedbackTotals,
    ModelVersion,
    ActiveModel,
    ModelCheckpoint,
    Incident,
]


@dataclass(frozen=True)
class EvaluationCounts:
    """Count, correct predictions and summed log loss over some feedback."""

    count: int
    correct: int
    log_loss_sum: float


class Database:
    """The service's database: one engine, the schema and every query the service runs."""

    def __init__(self, url: str, *, busy_timeout_s: float = 2.0, pool_size: int = 4) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = sa.create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
                pool_size=pool_size,
                max_overflow=4,
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = sa.create_engine(
                url,
                pool_size=pool_size,
                max_overflow=4,
                pool_pre_ping=True,
                pool_timeout=busy_timeout_s,
                connect_args={"connect_timeout": max(1, round(busy_timeout_s))},
            )
        self._insert = sqlite.insert if self.is_sqlite else postgresql.insert

    def create_schema(self) -> None:
        """Create missing tables (idempotent; several processes may race here)."""
        try:
            SQLModel.metadata.create_all(self.engine)
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
            # Another process created the same table a moment earlier.
            SQLModel.metadata.create_all(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def probe(self) -> None:
        """Raise unless the database accepts a write transaction right now."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.exec_driver_sql("ROLLBACK")
            else:
                conn.execute(sa.text("SELECT 1"))

    def write_batch(
        self, predictions: list[dict[str, Any]], feedback: list[dict[str, Any]]
    ) -> list[str]:
        """Insert predictions and feedback in one transaction.

        Returns, per feedback row, ``"new"``, ``"duplicate"`` (already labelled) or
        ``"unresolved"``: a row buffered while the database was away has no
        ``score`` yet and is completed from its prediction, which may still sit in
        another worker's buffer.
        """
        statuses: list[str | None] = [None] * len(feedback)
        with self.engine.begin() as conn:
            if predictions:
                self._insert_ignoring_conflicts(conn, Prediction.__table__, predictions)
            complete: list[tuple[int, dict[str, Any]]] = []
            seen: set[str] = set()
            for position, row in enumerate(feedback):
                if row.get("score") is None:
                    row = _complete_feedback(conn, row)
                    if row is None:
                        statuses[position] = "unresolved"
                        continue
                if row["request_id"] in seen:
                    # A second label for the same prediction in one batch.
                    statuses[position] = "duplicate"
                    continue
                seen.add(row["request_id"])
                complete.append((position, row))
            if complete:
                inserted = self._insert_ignoring_conflicts(
                    conn, Feedback.__table__, [row for _, row in complete], returning="request_id"
                )
                for position, row in complete:
                    statuses[position] = "new" if row["request_id"] in inserted else "duplicate"
                added = [row for _, row in complete if row["request_id"] in inserted]
                if added:
                    self._add_to_totals(conn, added)
        return [status or "duplicate" for status in statuses]

    def _add_to_totals(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        table = FeedbackTotals.__table__
        stmt = self._insert(table).values(
            id=1,
            count=len(rows),
            correct=sum(row["correct"] for row in rows),
            log_loss_sum=sum(row["log_loss"] for row in rows),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "count": table.c.count + stmt.excluded.count,
                "correct": table.c.correct + stmt.excluded.correct,
                "log_loss_sum": table.c.log_loss_sum + stmt.excluded.log_loss_sum,
            },
        )
        conn.execute(stmt)

    def _insert_ignoring_conflicts(
        self,
        conn: sa.Connection,
        table: sa.Table,
        rows: list[dict[str, Any]],
        returning: str | None = None,
    ) -> set[Any]:
        """Multi-row ``INSERT ... ON CONFLICT DO NOTHING`` through the driver.

        The hot path of every request: building the SQL text here costs a
        fraction of compiling a Core statement per batch. Values still go
        through each column type's bind processor, so they are stored exactly as
        SQLAlchemy would store them. Returns the `returning` column's values of
        the rows actually inserted.
        """
        columns = [c.name for c in table.columns if c.name in rows[0]]
        processors = [table.c[name].type.bind_processor(self.engine.dialect) for name in columns]
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        placeholder = "(" + ", ".join([mark] * len(columns)) + ")"
        inserted: set[Any] = set()
        for start in range(0, len(rows), INSERT_CHUNK_ROWS):
            chunk = rows[start : start + INSERT_CHUNK_ROWS]
            values: list[Any] = []
            for row in chunk:
                for name, process in zip(columns, processors, strict=True):
                    value = row[name]
                    values.append(process(value) if process is not None else value)
            sql = (
                f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
                + ", ".join([placeholder] * len(chunk))
                + " ON CONFLICT DO NOTHING"
            )
            if returning is not None:
                sql += f" RETURNING {returning}"
                inserted.update(r[0] for r in conn.exec_driver_sql(sql, tuple(values)))
            else:
                conn.exec_driver_sql(sql, tuple(values))
        return inserted

    def find_prediction(self, request_id: str) -> dict[str, Any] | None:
        """The stored prediction with this id, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(Prediction.__table__).where(Prediction.request_id == request_id)
            ).first()
        return dict(row._mapping) if row else None

    def feedback_after(
        self, after_id: int, limit: int
    ) -> list[tuple[int, int, int, str, datetime]]:
        """Feedback (id, label, correct, features JSON, recorded_at) with id > after_id, oldest
        first.

        On PostgreSQL, concurrent writers can commit ids out of order (id 10 may
        become visible after id 11), and a reader that moved past 10 would never
        learn it. Rows are therefore read only once they are a few seconds old,
        by when every transaction that took a lower id has committed. SQLite has
        one writer at a time, so its ids always appear in order. ``recorded_at``
        is stamped right before the insert that assigns the id.
        """
        query = (
            sa.select(
                Feedback.id,
                Feedback.label,
                Feedback.correct,
                Prediction.features,
                Feedback.recorded_at,
            )
            .join(Prediction, Prediction.request_id == Feedback.request_id)
            .where(Feedback.id > after_id)
            .order_by(Feedback.id)
            .limit(limit)
        )
        if not self.is_sqlite:
            settled = utc_now() - timedelta(seconds=POSTGRES_SETTLE_S)
            query = query.where(Feedback.recorded_at < settled)
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(query)]

    def max_feedback_id(self) -> int:
        """The newest feedback id, 0 when there is none."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(Feedback.id))).scalar() or 0

    def evaluation(self, window: int | None) -> EvaluationCounts:
        """Prequential counts over the newest `window` feedback rows, or all when None."""
        if window is None:
            with self.engine.connect() as conn:
                totals = conn.execute(
                    sa.select(
                        FeedbackTotals.count, FeedbackTotals.correct, FeedbackTotals.log_loss_sum
                    ).where(FeedbackTotals.id == 1)
                ).first()
            if totals is None:
                return EvaluationCounts(0, 0, 0.0)
            return EvaluationCounts(int(totals[0]), int(totals[1]), float(totals[2]))
        source = sa.select(Feedback.correct, Feedback.log_loss)
        if window is not None:
            source = source.order_by(Feedback.id.desc()).limit(window)
        sub = source.subquery()
        query = sa.select(sa.func.count(), sa.func.sum(sub.c.correct), sa.func.sum(sub.c.log_loss))
        with self.engine.connect() as conn:
            count, correct, loss = conn.execute(query).one()
        return EvaluationCounts(int(count or 0), int(correct or 0), float(loss or 0.0))

    def version_accuracy(self, version: str, newest: int) -> tuple[int, float | None]:
        """Count and accuracy of the newest `newest` feedback served by `version`."""
        sub = (
            sa.select(Feedback.correct)
            .where(Feedback.model_version == version)
            .order_by(Feedback.id.desc())
            .limit(newest)
            .subquery()
        )
        with self.engine.connect() as conn:
            count, correct = conn.execute(
                sa.select(sa.func.count(), sa.func.sum(sub.c.correct))
            ).one()
        count = int(count or 0)
        return count, (int(correct or 0) / count if count else None)

    def active_version(self) -> tuple[ModelVersion, datetime] | None:
        """The version every worker should serve and when it became active."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(ModelVersion.__table__, ActiveModel.changed_at)
                .join(ActiveModel, ActiveModel.version == ModelVersion.name)
                .where(ActiveModel.id == 1)
            ).first()
        if row is None:
            return None
        values = dict(row._mapping)
        changed_at = values.pop("changed_at")
        return ModelVersion(**values), changed_at

    def get_version(self, name: str) -> ModelVersion | None:
        """One version by name."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(ModelVersion.__table__).where(ModelVersion.name == name)
            ).first()
        return ModelVersion(**row._mapping) if row else None

    def list_versions(self) -> list[ModelVersion]:
        """Every version, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(ModelVersion.__table__).order_by(ModelVersion.number))
            return [ModelVersion(**r._mapping) for r in rows]

    def create_version(
        self,
        *,
        parent: str | None,
        reason: str,
        learning_rate: float,
        corrupt: bool,
        state_for: Any,
        name: str | None = None,
        activate: bool = True,
    ) -> str:
        """Create a version with its first checkpoint and (by default) make it active.

        ``state_for(name) -> (bytes, feedback_id)`` serialises the learner under the
        chosen name. Names are ``v<number>`` unless `name` is given; a concurrent
        creator taking the same number makes this retry with the next one.
        """
        for _attempt in range(5):
            with self.engine.begin() as conn:
                number = (conn.execute(sa.select(sa.func.max(ModelVersion.number))).scalar()) or 0
                number += 1
                chosen = name or f"v{number}"
                state, feedback_id = state_for(chosen)
                try:
                    conn.execute(
                        sa.insert(ModelVersion.__table__).values(
                            name=chosen,
                            number=number,
                            parent=parent,
                            reason=reason,
                            learning_rate=learning_rate,
                            corrupt=corrupt,
                            created_at=utc_now(),
                            first_feedback_id=feedback_id,
                        )
                    )
                except sa.exc.IntegrityError:
                    if name:
                        raise
                    continue
                conn.execute(
                    sa.insert(ModelCheckpoint.__table__).values(
                        version=chosen, feedback_id=feedback_id, created_at=utc_now(), state=state
                    )
                )
                if activate:
                    _set_active(conn, self._insert, chosen)
                return chosen
        raise RuntimeError("could not allocate a model version name after 5 attempts")

    def set_active(self, version: str) -> None:
        """Make `version` the one every worker serves."""
        with self.engine.begin() as conn:
            _set_active(conn, self._insert, version)

    def save_checkpoint(self, version: str, feedback_id: int, state: bytes) -> None:
        """Store a learner state and keep only the three newest per version."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(ModelCheckpoint.__table__).values(
                    version=version, feedback_id=feedback_id, created_at=utc_now(), state=state
                )
            )
            keep = (
                sa.select(ModelCheckpoint.id)
                .where(ModelCheckpoint.version == version)
                .order_by(ModelCheckpoint.id.desc())
                .limit(3)
            )
            conn.execute(
                sa.delete(ModelCheckpoint.__table__).where(
                    ModelCheckpoint.version == version, ModelCheckpoint.id.not_in(keep)
                )
            )

    def latest_checkpoint(self, version: str) -> bytes | None:
        """The newest pickled state of `version`."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(ModelCheckpoint.state)
                .where(ModelCheckpoint.version == version)
                .order_by(ModelCheckpoint.id.desc())
                .limit(1)
            ).scalar()

    def upsert_incident(self, record: dict[str, Any]) -> None:
        """Insert or update one incident of the mirror table."""
        values = {**record, "evidence": json.dumps(record["evidence"])}
        stmt = self._insert(Incident.__table__).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={"recovered_at": stmt.excluded.recovered_at, "evidence": stmt.excluded.evidence},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def export_to(self, path: Path) -> dict[str, TableDigest]:
        """Write every table to a gzipped JSON-lines file; returns each table's rows and digest.

        Rows are written in primary-key order, so two backups of the same content carry
        the same per-table digests (that is how a restore is shown to be identical).
        """
        digests = {m.__table__.name: TableDigest() for m in BACKED_UP_TABLES}
        with gzip.open(path, "wt", encoding="utf-8") as out, self.engine.connect() as conn:
            for model in BACKED_UP_TABLES:
                table = model.__table__
                digest = digests[table.name]
                for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns)):
                    values = {k: _to_json(v) for k, v in row._mapping.items()}
                    line = json.dumps({"table": table.name, "row": values}) + "\n"
                    out.write(line)
                    digest.add(line)
        return digests

    def import_from(self, path: Path, manifest: dict[str, Any]) -> int:
        """Replace every table's content with a file written by :meth:`export_to`.

        The file is checked against its manifest (whole-file SHA-256, then each table's
        row count and digest) before anything is deleted, so a truncated or altered
        backup is refused with :class:`BackupInvalidError` and the data stays as it was.
        """
        check_backup_file(path, manifest)
        tables = {m.__table__.name: m.__table__ for m in BACKED_UP_TABLES}
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
        digests = {name: TableDigest() for name in tables}
        try:
            with gzip.open(path, "rt", encoding="utf-8") as source:
                for line in source:
                    item = json.loads(line)
                    table = tables[item["table"]]
                    digests[item["table"]].add(line)
                    rows[item["table"]].append(
                        {k: _from_json(table.c[k].type, v) for k, v in item["row"].items()}
                    )
        except (OSError, EOFError, ValueError, KeyError) as exc:
            raise BackupInvalidError(f"backup {path.name} cannot be read: {exc}") from exc
        expected = manifest.get("tables", {})
        for name, digest in digests.items():
            claimed = expected.get(name)
            if claimed is None or claimed != digest.as_manifest():
                raise BackupInvalidError(
                    f"backup {path.name}: table {name} holds {digest.rows} rows "
                    f"(sha256 {digest.hexdigest()[:12]}), its manifest says "
                    f"{claimed or 'nothing'}; the file is truncated or altered"
                )
        with self.engine.begin() as conn:
            for model in reversed(BACKED_UP_TABLES):
                conn.execute(sa.delete(model.__table__))
            for model in BACKED_UP_TABLES:
                name = model.__table__.name
                if rows[name]:
                    conn.execute(sa.insert(model.__table__), rows[name])
            if not self.is_sqlite:
                # Restored explicit ids must not collide with the next generated ones.
                for model in (Feedback, ModelCheckpoint):
                    table = model.__table__.name
                    conn.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                        )
                    )
        return len(rows[Feedback.__table__.name])


class BackupInvalidError(ValueError):
    """A backup file that does not match its manifest (truncated, altered or unlisted)."""


class TableDigest:
    """Row count and SHA-256 over the backup lines of one table."""

    def __init__(self) -> None:
        self.rows = 0
        self._hash = hashlib.sha256()

    def add(self, line: str) -> None:
        """Count one backup line and fold it into the digest."""
        self.rows += 1
        self._hash.update(line.encode("utf-8"))

    def hexdigest(self) -> str:
        """The digest so far."""
        return self._hash.hexdigest()

    def as_manifest(self) -> dict[str, Any]:
        """The manifest entry of this table."""
        return {"rows": self.rows, "sha256": self.hexdigest()}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_backup_file(path: Path, manifest: dict[str, Any]) -> None:
    """Raise BackupInvalidError unless the file's size and SHA-256 match its manifest."""
    size = path.stat().st_size
    if size != manifest.get("bytes"):
        raise BackupInvalidError(
            f"backup {path.name} is {size} bytes, its manifest says {manifest.get('bytes')}; "
            "the file is truncated or altered"
        )
    actual = file_sha256(path)
    if actual != manifest.get("sha256"):
        raise BackupInvalidError(
            f"backup {path.name} has sha256 {actual[:12]}..., its manifest says "
            f"{str(manifest.get('sha256'))[:12]}...; the file is altered"
        )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; FULL makes each commit durable
    # (group commit keeps the number of fsyncs small).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _set_active(conn: sa.Connection, insert: Any, version: str) -> None:
    stmt = insert(ActiveModel.__table__).values(id=1, version=version, changed_at=utc_now())
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={"version": stmt.excluded.version, "changed_at": stmt.excluded.changed_at},
    )
    conn.execute(stmt)


def _complete_feedback(conn: sa.Connection, row: dict[str, Any]) -> dict[str, Any] | None:
    prediction = conn.execute(
        sa.select(Prediction.score, Prediction.prediction, Prediction.model_version).where(
            Prediction.request_id == row["request_id"]
        )
    ).first()
    if prediction is None:
        return None
    score, predicted, version = prediction
    label = row["label"]
    return {
        "request_id": row["request_id"],
        "label": label,
        "recorded_at": row["recorded_at"],
        "score": score,
        "prediction": predicted,
        "model_version": version,
        "correct": int(predicted == label),
        "log_loss": log_loss(score, label),
    }


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _from_json(column_type: sa.types.TypeEngine, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, sa.types.TypeDecorator):
        # SQLModel wraps DateTime in a decorator that insists on aware values.
        column_type = column_type.impl
    if isinstance(column_type, sa.DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column_type, sa.LargeBinary):
        return bytes.fromhex(value)
    return value
