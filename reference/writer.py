"""Group-commit writer of predictions and feedback, with an fsynced local buffer.

Request handlers hand rows to one writer thread and await a future. The thread
commits everything queued so far in one transaction, so many requests share one
durable commit. When the database is unreachable the rows go to a local
JSON-lines file that is fsynced before any request is answered (degraded mode),
and are replayed into the database once it answers again.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from reference.shared_state import ControlField, SharedState, SlotField
from reference.storage import Database, utc_now

logger = logging.getLogger("reference.writer")

UNAVAILABLE_ERRORS = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
    TimeoutError,
)
"""Errors meaning "the database is not reachable" (or not answering in time), as opposed
to a bug in a query."""

WRITE_TIMEOUT_S = 5.0
"""A commit not done by then counts as the database being unavailable.

A frozen server (a stopped process, a paused container) keeps its TCP
connections open, so no driver error ever comes; without this bound every
request would wait on the stuck commit forever.
"""

RESOLVE_PATIENCE_S = 30.0
"""How long a replayed feedback row waits for its prediction before it is dropped."""


def _encode(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("created_at", "recorded_at"):
        if isinstance(row.get(key), str):
            row[key] = datetime.fromisoformat(row[key])
    return row


class LocalBuffer:
    """An append-only, fsynced JSON-lines file of rows the database could not take.

    The owning process holds an exclusive ``flock`` on it, so any other process
    that can take the lock knows the owner is gone and may replay the file.
    """

    def __init__(self, path: Path, *, lock: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = open(path, "a+b")  # noqa: SIM115 - held open for the process lifetime
        if lock:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        self.pending_feedback = sum(1 for kind, _ in self.load() if kind == "f")

    def append(self, predictions: list[dict[str, Any]], feedback: list[dict[str, Any]]) -> None:
        """Append rows and fsync before returning."""
        lines = [json.dumps({"t": "p", "row": _encode(r)}) for r in predictions]
        lines += [json.dumps({"t": "f", "row": _encode(r)}) for r in feedback]
        if not lines:
            return
        self._file.write(("\n".join(lines) + "\n").encode())
        self._file.flush()
        os.fsync(self._file.fileno())
        self.pending_feedback += len(feedback)

    def load(self) -> list[tuple[str, dict[str, Any]]]:
        """Every buffered row as (kind, row), kind ``p`` or ``f``, in write order."""
        self._file.seek(0)
        items = []
        for line in self._file.read().decode().splitlines():
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                # A torn final line from a crash mid-write was never acknowledged.
                logger.warning("skipping a torn line in %s", self.path)
                continue
            items.append((item["t"], _decode(item["row"])))
        return items

    def clear(self) -> None:
        """Empty the file after its rows were committed."""
        self._file.truncate(0)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.pending_feedback = 0

    @property
    def empty(self) -> bool:
        """Whether nothing is buffered."""
        return os.fstat(self._file.fileno()).st_size == 0

    def close(self) -> None:
        """Release the lock and the file."""
        self._file.close()


def replay_buffer(
    write: Callable[[list[dict[str, Any]], list[dict[str, Any]]], list[str]],
    buffer: LocalBuffer,
    first_seen: dict[str, float],
) -> int:
    """Commit a buffer's rows through `write`; keep feedback whose prediction is not there yet.

    Returns the number of feedback rows committed. Raises the database's error
    when it is still unreachable; the buffer is then left untouched (only this
    thread ever changes it, even when `write` runs elsewhere and times out).
    """
    items = buffer.load()
    if not items:
        return 0
    predictions = [row for kind, row in items if kind == "p"]
    feedback = [row for kind, row in items if kind == "f"]
    statuses = write(predictions, feedback)
    keep = []
    for row, status in zip(feedback, statuses, strict=True):
        if status != "unresolved":
            continue
        seen = first_seen.setdefault(row["request_id"], time.monotonic())
        if time.monotonic() - seen > RESOLVE_PATIENCE_S:
            logger.error("dropping buffered feedback %s: no such prediction", row["request_id"])
            continue
        keep.append(row)
    buffer.clear()
    buffer.append([], keep)
    return sum(1 for s in statuses if s != "unresolved")


def replay_orphaned_buffers(database: Database, directory: Path, own: Path) -> int:
    """Replay buffers whose owning worker is gone (their lock is free)."""
    replayed = 0
    for path in sorted(directory.glob("*.jsonl")):
        if path == own:
            continue
        try:
            handle = open(path, "a+b")  # noqa: SIM115 - closed below
        except OSError:
            continue
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            orphan = LocalBuffer(path, lock=False)
            replayed += replay_buffer(database.write_batch, orphan, {})
            orphan.close()
        finally:
            handle.close()
    return replayed


@dataclass
class _Item:
    kind: str
    row: dict[str, Any]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


@dataclass
class WriterStatus:
    """What the writer knows about the database, for /health."""

    degraded: bool = False
    last_error: str | None = None
    replayed_feedback: int = 0
    since: float = field(default_factory=time.monotonic)


class GroupCommitWriter:
    """One thread that commits queued rows in batches, or buffers them when the DB is away."""

    def __init__(
        self,
        database: Database,
        buffer: LocalBuffer,
        state: SharedState,
        slot: int,
        *,
        probe_interval_s: float = 0.5,
        max_batch: int = 2000,
    ) -> None:
        self._database = database
        self._buffer = buffer
        self._state = state
        self._slot = slot
        self._probe_interval_s = probe_interval_s
        self._max_batch = max_batch
        self._pending: list[_Item] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._first_seen: dict[str, float] = {}
        self.status = WriterStatus(degraded=not buffer.empty)
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._db_calls = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-write")
        self._stuck: Future | None = None

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Flush what is queued and stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout_s)
        self._db_calls.shutdown(wait=False, cancel_futures=True)

    @property
    def backlog(self) -> int:
        """Rows queued or buffered and not yet in the database."""
        return len(self._pending) + self._buffer.pending_feedback

    async def write_prediction(self, row: dict[str, Any]) -> None:
        """Return once the prediction is committed (or buffered)."""
        await self._submit("p", row)

    async def write_feedback(self, row: dict[str, Any]) -> bool:
        """Return once the feedback is durable; False when it was already labelled."""
        return await self._submit("f", row)

    async def _submit(self, kind: str, row: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        item = _Item(kind, row, loop.create_future(), loop)
        with self._cond:
            self._pending.append(item)
            self._cond.notify()
        return await item.future

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._pending and not self._stopping:
                    self._cond.wait(self._probe_interval_s)
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                stopping = self._stopping and not self._pending
            if batch:
                self._flush(batch)
            elif not self._buffer.empty:
                self._try_replay()
            elif self.status.degraded and not self._database_marked_down():
                self.status.degraded = False
            self._state.set(self._slot, SlotField.BUFFERED, self._buffer.pending_feedback)
            self._state.set(self._slot, SlotField.DEGRADED, float(self.status.degraded))
            if stopping:
                return

    def _bounded_write(
        self, predictions: list[dict[str, Any]], feedback: list[dict[str, Any]]
    ) -> list[str]:
        """``Database.write_batch`` with a deadline; TimeoutError when it is missed."""
        if self._stuck is not None:
            if not self._stuck.done():
                raise TimeoutError("an earlier database write has still not returned")
            self._stuck = None
        call = self._db_calls.submit(self._database.write_batch, predictions, feedback)
        try:
            return call.result(timeout=WRITE_TIMEOUT_S)
        except TimeoutError:
            # The call may still commit later; its rows are buffered meanwhile
            # and replayed idempotently (inserts ignore conflicts).
            self._stuck = call
            raise TimeoutError(
                f"database write did not return within {WRITE_TIMEOUT_S:g} s"
            ) from None

    def _database_marked_down(self) -> bool:
        return self._state.read(ControlField.DB_DOWN) > 0

    def _flush(self, batch: list[_Item]) -> None:
        predictions = [i.row for i in batch if i.kind == "p"]
        feedback = [i.row for i in batch if i.kind == "f"]
        reachable = (
            self._try_replay() if not self._buffer.empty else not self._database_marked_down()
        )
        if reachable:
            now = utc_now()
            for row in feedback:
                # Stamped just before the insert that assigns its id (see
                # Database.feedback_after for why that matters).
                row["recorded_at"] = now
            try:
                statuses = self._bounded_write(predictions, feedback)
            except UNAVAILABLE_ERRORS as exc:
                self._enter_degraded(exc)
            except Exception as exc:
                logger.exception("write of %d rows failed", len(batch))
                for item in batch:
                    _resolve(item, error=exc)
                return
            else:
                self._state.set(self._slot, SlotField.LAST_COMMIT, time.monotonic())
                statuses_iter = iter(statuses)
                for item in batch:
                    _resolve(item, True if item.kind == "p" else next(statuses_iter) == "new")
                return
        # Degraded: the rows are acknowledged only after this fsync.
        try:
            self._buffer.append(predictions, feedback)
        except OSError as exc:
            logger.exception("local buffer write failed")
            for item in batch:
                _resolve(item, error=exc)
            return
        self.status.degraded = True
        for item in batch:
            _resolve(item, True)

    def _enter_degraded(self, exc: Exception) -> None:
        if not self.status.degraded:
            logger.error("database unavailable, buffering locally: %s", exc)
        self.status.degraded = True
        self.status.last_error = str(exc).splitlines()[0][:300]
        self.status.since = time.monotonic()

    def _try_replay(self) -> bool:
        """Replay the buffer; returns whether the database took it."""
        if self._database_marked_down():
            self.status.degraded = True
            return False
        try:
            replayed = replay_buffer(self._bounded_write, self._buffer, self._first_seen)
        except UNAVAILABLE_ERRORS as exc:
            self._enter_degraded(exc)
            return False
        self._state.set(self._slot, SlotField.LAST_COMMIT, time.monotonic())
        if replayed:
            logger.info("replayed %d buffered feedback rows", replayed)
        self.status.replayed_feedback += replayed
        if self.status.degraded:
            logger.info("database available again, leaving degraded mode")
        self.status.degraded = False
        self.status.last_error = None
        return True


def _resolve(item: _Item, value: Any = None, error: BaseException | None = None) -> None:
    def deliver() -> None:
        if item.future.done():
            return
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(value)

    item.loop.call_soon_threadsafe(deliver)
