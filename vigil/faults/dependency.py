"""Dependency outages: the target's database made unreachable.

SQLite: vigil holds the database's exclusive lock, as a stuck writer or a long
migration would, so every write (and, in WAL mode, every checkpoint) of the target
waits and times out. The lock lives in vigil's process: it ends with it.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from vigil.errors import ConfigError, FaultRollbackError
from vigil.faults.base import ActiveFault, FaultContext, FaultEvidence
from vigil.faults.config import SqliteLockConfig
from vigil.store import ActiveFaultRecord


class SqliteLockFault(ActiveFault):
    """Hold the exclusive lock of the SQLite file the configuration names."""

    kind = "sqlite_lock"
    journalled = True

    def __init__(self, config: SqliteLockConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: SqliteLockConfig = config
        self.path = Path(config.database).resolve()
        self.connection: sqlite3.Connection | None = None
        self._connection_lock = threading.Lock()

    def prepare(self) -> None:
        if not self.path.is_file():
            raise ConfigError(f"{self.name}: {self.path} is not an existing SQLite file")

    def journal_detail(self) -> dict[str, str]:
        return {"database": str(self.path)}

    def apply(self) -> None:
        # The timer thread may release it: the connection must cross threads.
        connection = sqlite3.connect(
            self.path, timeout=10, isolation_level=None, check_same_thread=False
        )
        connection.execute("BEGIN EXCLUSIVE")
        self.connection = connection

    def _writable(self) -> tuple[bool, str]:
        probe = sqlite3.connect(self.path, timeout=0.2, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return True, f"{self.path} takes writes"
        except sqlite3.OperationalError as exc:
            return False, f"{self.path}: {exc}"
        finally:
            probe.close()

    def effect(self) -> FaultEvidence:
        writable, detail = self._writable()
        return FaultEvidence(not writable, detail)

    def revert(self) -> bool:
        with self._connection_lock:
            connection, self.connection = self.connection, None
        if connection is None:
            return False
        try:
            connection.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise FaultRollbackError(
                f"{self.name}: the lock on {self.path} could not be released ({exc})"
            ) from exc
        finally:
            connection.close()
        return True

    def rollback_held(self) -> FaultEvidence:
        writable, detail = self._writable()
        if not writable:
            return FaultEvidence(False, detail)
        return self._target_healthy()

    @classmethod
    def revert_journalled(cls, entry: ActiveFaultRecord) -> str:
        return (
            f"the lock on {entry.detail.get('database')} ended with the vigil process that held it"
        )


__all__ = ["SqliteLockFault"]
