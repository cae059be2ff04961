"""Dependency outages: the target's database made unreachable.

SQLite: vigil holds the database's exclusive lock, as a stuck writer or a long
migration would, so every write (and, in WAL mode, every checkpoint) of the target
waits and times out. The lock lives in vigil's process: it ends with it.

PostgreSQL (or any database over TCP): the target reaches its database through
vigil's fault proxy, which refuses new connections and resets the open ones.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
from pathlib import Path

from vigil.errors import ConfigError, FaultRollbackError, TargetUnavailableError
from vigil.faults.base import ActiveFault, FaultContext, FaultEvidence
from vigil.faults.config import DatabaseRefuseConfig, SqliteLockConfig
from vigil.faults.proxy import FaultProxy, ProxyFault
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


class DatabaseRefuseFault(ActiveFault):
    """The fault proxy between the target and its database refuses every connection."""

    kind = "database_refused"
    journalled = True

    def __init__(self, config: DatabaseRefuseConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: DatabaseRefuseConfig = config
        self.proxy: FaultProxy | None = None

    def prepare(self) -> None:
        if not isinstance(self.context.dependency_proxy, FaultProxy):
            raise TargetUnavailableError(
                f"{self.name}: the target must reach its database through vigil's fault "
                "proxy (dependency_proxy); none runs in this experiment"
            )
        self.proxy = self.context.dependency_proxy

    def journal_detail(self) -> dict[str, int]:
        assert self.proxy is not None
        return {"database_proxy_port": self.proxy.port}

    def apply(self) -> None:
        assert self.proxy is not None
        self.proxy.set_fault(ProxyFault(refuse=True))

    def _connects(self) -> tuple[bool, str]:
        assert self.proxy is not None
        try:
            with socket.create_connection((self.proxy.host, self.proxy.port), timeout=1.0):
                return True, f"the database proxy on port {self.proxy.port} accepts connections"
        except OSError as exc:
            return False, f"the database proxy on port {self.proxy.port}: {exc}"

    def effect(self) -> FaultEvidence:
        connects, detail = self._connects()
        return FaultEvidence(not connects, detail)

    def revert(self) -> bool:
        assert self.proxy is not None
        acted = self.proxy.fault.active
        self.proxy.clear()
        return acted

    def rollback_held(self) -> FaultEvidence:
        connects, detail = self._connects()
        if not connects:
            return FaultEvidence(False, detail)
        return self._target_healthy()

    @classmethod
    def revert_journalled(cls, entry: ActiveFaultRecord) -> str:
        raise FaultRollbackError(
            f"{entry.label}: target {entry.target_name!r} reached its database through vigil's "
            f"fault proxy on port {entry.detail.get('database_proxy_port')}, which ended with "
            "the vigil process that ran it; the target cannot reach its database until it is "
            "restarted or pointed at the database directly"
        )


__all__ = ["DatabaseRefuseFault", "SqliteLockFault"]
