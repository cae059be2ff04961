"""What every fault is: inject, prove it took effect, roll back, prove the rollback held.

An :class:`ActiveFault` is created by its kind's :meth:`ActiveFault.inject`, which

1. resolves what the fault will touch (pids, a container, the proxy) -- nothing
   else is ever touched;
2. writes a journal entry to the store when the fault can outlive vigil (a
   stopped process, a paused container, a filler file), so that a later vigil
   can revert it (:func:`vigil.faults.journal.revert_journalled_faults`);
3. starts a timer thread that rolls the fault back after its ``max_duration_s``
   whatever else happens;
4. applies the fault.

:meth:`ActiveFault.rollback` is idempotent and thread-safe (the timer, the step's
``finally`` and a signal handler may all call it); a rollback that cannot restore
the target raises :class:`~vigil.errors.FaultRollbackError` naming what is left broken.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self

import psutil

from vigil.errors import FaultRollbackError, TargetUnavailableError
from vigil.faults.config import _FaultBase
from vigil.store import ActiveFaultRecord, Store
from vigil.targets.base import Target, TargetEndpoint, wait_until_healthy

logger = logging.getLogger("vigil.faults")


@dataclass(frozen=True)
class FaultEvidence:
    """Whether something about a fault was proven, and what was seen."""

    ok: bool
    detail: str


@dataclass
class FaultContext:
    """What a fault may act on: the started target, vigil's proxy, the store for the journal."""

    endpoint: TargetEndpoint
    target: Target | None = None
    """The live adapter (``vigil.targets.running_target``), for process and container faults."""
    proxy: Any = None
    """A started :class:`vigil.faults.proxy.FaultProxy`, for network faults."""
    dependency_proxy: Any = None
    """A started FaultProxy between the target and its database, for dependency outages."""
    traffic: Any = None
    """The experiment's :class:`vigil.faults.experiment.FeedbackTraffic`, for data faults."""
    store: Store | None = None
    run_id: str = ""
    recovery_timeout_s: float = 60.0
    """How long a rollback waits for the target to answer health again."""


class ActiveFault(ABC):
    """One injected fault; see the module docstring for its life cycle."""

    kind: ClassVar[str]
    journalled: ClassVar[bool] = False
    """Whether the fault can outlive vigil, and so is written to the journal."""

    def __init__(self, config: _FaultBase, context: FaultContext) -> None:
        self.config = config
        self.context = context
        self.fault_id = uuid.uuid4().hex
        self.injected_at: datetime | None = None
        self.rolled_back_at: datetime | None = None
        self.rollback_acted = False
        """Whether the rollback had anything to undo (False: the target had healed already)."""
        self.rollback_error: FaultRollbackError | None = None
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._journalled = False

    # --- what each kind provides -----------------------------------------------------------------

    def prepare(self) -> None:  # noqa: B027 -- most kinds have nothing to resolve
        """Resolve what the fault will touch; raise TargetUnavailableError if it cannot."""

    @abstractmethod
    def apply(self) -> None:
        """Apply the fault (called once, after the journal entry is written)."""

    @abstractmethod
    def effect(self) -> FaultEvidence:
        """Prove the fault took effect (e.g. the process is gone or stopped)."""

    @abstractmethod
    def revert(self) -> bool:
        """Undo the fault; return whether there was anything left to undo.

        Raises:
            FaultRollbackError: the fault could not be undone.
        """

    @abstractmethod
    def rollback_held(self) -> FaultEvidence:
        """Prove the rollback held (e.g. the process runs again, the target is healthy)."""

    def persists(self) -> bool | None:
        """Whether the fault is still in effect, when probes cannot tell (None: unknown).

        A corrupt model still serves answers that look fine to a probe; such a fault
        says here whether the target has undone it yet.
        """
        return None

    def journal_detail(self) -> dict[str, Any]:
        """What :meth:`revert_journalled` needs, beyond pids, container and proxy port."""
        return {}

    def journal_pids(self) -> list[psutil.Process]:
        """Processes the fault touches, for the journal."""
        return []

    def journal_container(self) -> str | None:
        """The container the fault touches, for the journal."""
        return None

    @classmethod
    def revert_journalled(cls, entry: ActiveFaultRecord) -> str:
        """Revert a fault a vigil process that has since died left behind; say what was done.

        Raises:
            FaultRollbackError: it cannot be reverted.
        """
        return "nothing to revert"

    # --- life cycle ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The fault's label, or its kind."""
        return self.config.name

    @classmethod
    def inject(cls, config: _FaultBase, context: FaultContext) -> Self:
        """Resolve, journal, arm the timer, and apply the fault; return its handle.

        Raises:
            TargetUnavailableError: what the fault must touch cannot be found.
            FaultRollbackError: applying failed and so did undoing the partial fault.
        """
        fault = cls(config, context)
        fault.prepare()
        fault._write_journal()
        register_active(fault)
        fault._timer = threading.Timer(config.max_duration_s, fault._expire)
        fault._timer.daemon = True
        fault._timer.name = f"vigil-fault-timer-{fault.fault_id[:8]}"
        fault._timer.start()
        fault.injected_at = datetime.now(UTC)
        try:
            fault.apply()
        except BaseException:
            fault.rollback()
            raise
        logger.info("injected %s (%s)", fault.name, fault.kind)
        return fault

    def rollback(self) -> bool:
        """Undo the fault once (later calls repeat the first outcome); return whether it acted.

        Raises:
            FaultRollbackError: the fault could not be undone; says what is left broken.
        """
        with self._lock:
            if self.rolled_back_at is None:
                if self._timer is not None:
                    self._timer.cancel()
                self.rolled_back_at = datetime.now(UTC)
                try:
                    self.rollback_acted = self.revert()
                except FaultRollbackError as exc:
                    self.rollback_error = exc
                except Exception as exc:
                    # Whatever broke (the Docker SDK, HTTP, the OS), the fault may still be
                    # active: say so as the one error a rollback raises.
                    self.rollback_error = FaultRollbackError(
                        f"rollback of {self.name} ({self.kind}) failed, the fault may still be "
                        f"active: {type(exc).__name__}: {exc}"
                    )
                    self.rollback_error.__cause__ = exc
                if self.rollback_error is None:
                    self._clear_journal()
                unregister_active(self)
            if self.rollback_error is not None:
                raise self.rollback_error
            return self.rollback_acted

    def _expire(self) -> None:
        logger.warning(
            "%s reached its maximum duration of %g s; rolling it back",
            self.name,
            self.config.max_duration_s,
        )
        try:
            self.rollback()
        except FaultRollbackError as exc:
            logger.error("%s", exc)

    # --- the journal -----------------------------------------------------------------------------

    def _write_journal(self) -> None:
        store = self.context.store
        if not self.journalled or store is None:
            return
        now = datetime.now(UTC)
        me = psutil.Process()
        store.journal_fault(
            ActiveFaultRecord(
                id=self.fault_id,
                run_id=self.context.run_id,
                kind=self.kind,
                label=self.name,
                target_name=self.context.endpoint.name,
                host=socket.gethostname(),
                owner_pid=os.getpid(),
                owner_started_at=me.create_time(),
                pids=[{"pid": p.pid, "create_time": p.create_time()} for p in self.journal_pids()],
                container_id=self.journal_container(),
                proxy_port=getattr(self.context.proxy, "port", None),
                detail=self.journal_detail(),
                started_at=now,
                # The timer reverts it then; a row older than this was left by a dead vigil.
                expires_at=now + timedelta(seconds=self.config.max_duration_s),
            )
        )
        self._journalled = True

    def _clear_journal(self) -> None:
        if self._journalled and self.context.store is not None:
            self.context.store.clear_fault(self.fault_id)
            self._journalled = False

    # --- shared proofs ---------------------------------------------------------------------------

    def _target_healthy(self, timeout_s: float | None = None) -> FaultEvidence:
        try:
            wait_until_healthy(
                self.context.endpoint,
                timeout_s if timeout_s is not None else self.context.recovery_timeout_s,
            )
        except TargetUnavailableError as exc:
            return FaultEvidence(False, str(exc))
        return FaultEvidence(True, f"{self.context.endpoint.base_url} answers health")


_ACTIVE: dict[str, ActiveFault] = {}
_ACTIVE_LOCK = threading.Lock()


def register_active(fault: ActiveFault) -> None:
    """Track a fault as active in this process (for signal and exit rollbacks)."""
    with _ACTIVE_LOCK:
        _ACTIVE[fault.fault_id] = fault


def unregister_active(fault: ActiveFault) -> None:
    """Stop tracking a rolled-back fault."""
    with _ACTIVE_LOCK:
        _ACTIVE.pop(fault.fault_id, None)


def active_faults() -> list[ActiveFault]:
    """Faults this process applied and has not rolled back, oldest first."""
    with _ACTIVE_LOCK:
        return list(_ACTIVE.values())


def roll_back_all() -> list[str]:
    """Roll back every fault this process still has active; return what could not be undone."""
    problems = []
    for fault in reversed(active_faults()):
        try:
            fault.rollback()
        except FaultRollbackError as exc:
            problems.append(str(exc))
    return problems


def same_process(pid: int, create_time: float) -> psutil.Process | None:
    """The process `pid` if it is still the one created at `create_time` (pids get reused)."""
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - create_time) > 0.05:
            return None
        return process
    except psutil.Error:
        return None
