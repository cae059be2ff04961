"""The supervisor's database watch: availability, degraded mode and model regression.

Runs in its own thread so a slow database never delays the checks on worker
processes. It probes the database; after repeated failures (or as soon as a
worker reports buffering) it opens a ``database_unavailable`` incident and tells
every worker to buffer; once the database answers and every buffer is replayed
it closes the incident. While the database is up it also compares a freshly
deployed version's accuracy with its parent's and rolls back a clear regression.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from reference.incidents import parse_iso
from reference.settings import MAX_WORKERS
from reference.shared_state import ControlField, SlotField
from reference.storage import Database
from reference.writer import UNAVAILABLE_ERRORS

if TYPE_CHECKING:
    from reference.supervisor import Supervisor

logger = logging.getLogger("reference.database_watch")

FAILURES_BEFORE_DEGRADED = 2
"""Consecutive failed probes before the database is declared unavailable."""


class DatabaseWatch:
    """A thread of the supervisor that watches the database and the served model."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.settings = supervisor.settings
        self.state = supervisor.state
        self.database = Database(
            self.settings.resolved_database_url,
            busy_timeout_s=self.settings.db_probe_timeout_s,
            pool_size=1,
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="database-watch", daemon=True)
        self._failures = 0
        self._outage: dict[str, Any] | None = None
        self._peak_buffered = 0
        self._judged_versions: set[str] = set()
        self._probes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-probe")
        self._stuck_probe: Future | None = None

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and release the connection pool."""
        self._stop.set()
        self._thread.join(5)
        self._probes.shutdown(wait=False, cancel_futures=True)
        self.database.dispose()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.check_interval_s):
            try:
                self._tick()
            except Exception:
                logger.exception("database watch step failed")

    def _tick(self) -> None:
        error = self._probe()
        buffered, degraded_workers = self._worker_buffers()
        self._peak_buffered = max(self._peak_buffered, buffered)
        if error is not None:
            self._failures += 1
            if self._outage is None and self._failures >= FAILURES_BEFORE_DEGRADED:
                self._open_outage(error, source="probe")
            return
        self._failures = 0
        if self._outage is None and degraded_workers:
            # A worker's write failed though our probe passed (e.g. a lock held
            # longer than its busy timeout): still an outage, already buffered.
            self._open_outage("a worker could not write and is buffering locally", source="worker")
        if self._outage is not None:
            self.state.write(ControlField.DB_DOWN, 0)
            if buffered == 0 and not degraded_workers:
                self.supervisor.close_incident(
                    self._outage,
                    recovery_action="replay_buffer",
                    replayed_feedback=self._peak_buffered,
                )
                logger.info("database back; %d buffered feedback replayed", self._peak_buffered)
                self._outage = None
                self._peak_buffered = 0
            return
        self._mirror_incidents()
        self._judge_deploy()

    def _probe(self) -> str | None:
        if self._workers_committed_recently():
            # A worker's commit just succeeded: the database takes writes. Probing
            # anyway would queue behind a busy writer (SQLite has one write lock)
            # and report an outage that is only contention.
            return None
        if self._stuck_probe is not None:
            if not self._stuck_probe.done():
                return "an earlier probe has still not returned (database frozen?)"
            self._stuck_probe = None
        probe = self._probes.submit(self.database.probe)
        bound = 2 * self.settings.db_probe_timeout_s
        try:
            probe.result(timeout=bound)
        except TimeoutError:
            # A frozen server keeps connections open and never errors.
            self._stuck_probe = probe
            return f"probe did not return within {bound:g} s"
        except UNAVAILABLE_ERRORS as exc:
            return str(exc).splitlines()[0][:300]
        return None

    def _workers_committed_recently(self) -> bool:
        now = time.monotonic()
        recent = max(2 * self.settings.check_interval_s, 1.0)
        return any(
            self.state.get(slot, SlotField.PID) > 0
            and now - self.state.get(slot, SlotField.LAST_COMMIT) < recent
            for slot in range(MAX_WORKERS)
        )

    def _worker_buffers(self) -> tuple[int, bool]:
        buffered = 0
        degraded = False
        for slot in range(MAX_WORKERS):
            if self.state.get(slot, SlotField.PID) <= 0:
                continue
            buffered += int(self.state.get(slot, SlotField.BUFFERED))
            degraded = degraded or self.state.get(slot, SlotField.DEGRADED) > 0
        return buffered, degraded

    def _open_outage(self, error: str, *, source: str) -> None:
        self.state.write(ControlField.DB_DOWN, 1)
        backend = "sqlite" if self.database.is_sqlite else "postgresql"
        self._outage = self.supervisor.record(
            "database_unavailable",
            "degraded_mode",
            {"error": error, "detected_by": source, "backend": backend},
        )
        logger.error("database unavailable (%s): %s; workers buffer locally", source, error)

    def _mirror_incidents(self) -> None:
        pending = self.supervisor.take_unmirrored()
        for position, incident in enumerate(pending):
            record = {
                "id": incident["id"],
                "kind": incident["kind"],
                "action": incident["action"],
                "detected_at": parse_iso(incident["detected_at"]),
                "recovered_at": (
                    parse_iso(incident["recovered_at"]) if incident["recovered_at"] else None
                ),
                "evidence": incident["evidence"],
            }
            try:
                self.database.upsert_incident(record)
            except UNAVAILABLE_ERRORS:
                self.supervisor.requeue_unmirrored(pending[position:])
                return

    def _judge_deploy(self) -> None:
        """Roll back a deployed version whose accuracy is clearly below its parent's."""
        found = self.database.active_version()
        if found is None:
            return
        version = found[0]
        if version.reason != "deploy" or version.parent is None:
            return
        if version.name in self._judged_versions:
            return
        window = self.settings.regression_window
        count, accuracy = self.database.version_accuracy(version.name, window)
        if count < window or accuracy is None:
            return
        self._judged_versions.add(version.name)
        parent_count, parent_accuracy = self.database.version_accuracy(version.parent, window)
        if parent_accuracy is None or parent_count < min(window, 10):
            return
        drop = parent_accuracy - accuracy
        if drop < self.settings.regression_margin:
            logger.info(
                "deploy %s judged fine: accuracy %.3f vs parent %.3f",
                version.name,
                accuracy,
                parent_accuracy,
            )
            return
        if not self.settings.self_healing_enabled:
            logger.warning(
                "model %s regressed (%.3f vs %.3f); self-healing is disabled, not rolled back",
                version.name,
                accuracy,
                parent_accuracy,
            )
            return
        incident = self.supervisor.record(
            "model_regression",
            "rollback_model",
            {
                "version": version.name,
                "accuracy": round(accuracy, 4),
                "rolled_back_to": version.parent,
                "parent_accuracy": round(parent_accuracy, 4),
                "window": window,
                "margin": self.settings.regression_margin,
            },
        )
        self.database.set_active(version.parent)
        logger.warning(
            "model %s regressed (%.3f vs %.3f); rolled back to %s",
            version.name,
            accuracy,
            parent_accuracy,
            version.parent,
        )
        self.supervisor.close_incident(incident, serving=version.parent)
