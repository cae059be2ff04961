"""The soak's fault seam: a :class:`CycleFault` injects, the handle it returns rolls back.

The seam is deliberately small so the fault library's experiments can take its place: a fault
has a ``kind`` and an ``inject(journal)`` that first hands the journal what it is about to do
(so a crash between the journal and the act leaves a record to revert), then acts, and
returns a :class:`FaultHandle` whose ``rollback()`` undoes it -- idempotent, safe to call from
``finally`` and from the watchdog timer that bounds the fault's duration even if vigil stalls.

:class:`WorkerHang` is the one fault for now: SIGSTOP of one worker process of a process target,
SIGCONT on rollback. :func:`revert_stopped` reverts a journal left by a crashed soak.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import psutil
from pydantic import BaseModel, ConfigDict, Field

from vigil.errors import FaultRollbackError, RunError, TargetUnavailableError
from vigil.results import utc_now
from vigil.targets.base import TargetEndpoint, running_target
from vigil.targets.client import TargetClient

_WATCHDOG_MARGIN_S = 1.0
"""The watchdog rolls back this long after the fault's planned end, if nothing else did."""


class FaultProcess(BaseModel):
    """A process a fault acted on; the start time tells it apart from a later one with its pid."""

    model_config = ConfigDict(frozen=True)

    pid: int = Field(ge=1)
    create_time: float = Field(description="psutil's create_time() of the process.")


class InjectedFault(BaseModel):
    """What a fault did, as written in the soak's fault journal before it acts."""

    model_config = ConfigDict(frozen=True)

    kind: str
    processes: list[FaultProcess] = Field(default_factory=list)
    started_at: datetime
    expires_at: datetime


class FaultHandle(Protocol):
    """An injected fault that can be undone."""

    fault: InjectedFault

    def rollback(self) -> None:
        """Undo the fault (idempotent)."""


FaultJournal = Callable[[InjectedFault], None]
"""Called with what a fault is about to do, before it does it."""


class CycleFault(Protocol):
    """A fault a soak cycle injects and rolls back."""

    kind: str

    def inject(self, journal: FaultJournal) -> FaultHandle:
        """Journal, then inject the fault; return the handle that rolls it back."""


def _same_process(target: FaultProcess) -> psutil.Process | None:
    """The live process `target` names, or None if it ended (or its pid was reused)."""
    try:
        process = psutil.Process(target.pid)
        if abs(process.create_time() - target.create_time) > 0.01:
            return None
        return process
    except psutil.Error:
        return None


def resume_process(target: FaultProcess) -> bool:
    """SIGCONT `target` if it still exists; True if a signal was sent."""
    process = _same_process(target)
    if process is None:
        return False
    try:
        process.send_signal(signal.SIGCONT)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error as exc:
        raise FaultRollbackError(f"cannot SIGCONT pid {target.pid}: {exc}") from exc
    return True


def is_stopped(target: FaultProcess) -> bool:
    """Whether `target` still exists and is stopped (SIGSTOP)."""
    process = _same_process(target)
    if process is None:
        return False
    try:
        return process.status() in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)
    except psutil.Error:
        return False


def revert_stopped(processes: Sequence[FaultProcess]) -> list[int]:
    """Resume every one of `processes` that still exists and is stopped; return their pids."""
    resumed = []
    for target in processes:
        if is_stopped(target) and resume_process(target):
            resumed.append(target.pid)
    return resumed


class _HangHandle:
    """A stopped worker, resumed by :meth:`rollback` or at the latest by the watchdog."""

    def __init__(self, fault: InjectedFault, max_duration_s: float) -> None:
        self.fault = fault
        self._lock = threading.Lock()
        self._done = False
        self._watchdog = threading.Timer(max_duration_s + _WATCHDOG_MARGIN_S, self.rollback)
        self._watchdog.daemon = True
        self._watchdog.start()

    def rollback(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        self._watchdog.cancel()
        for target in self.fault.processes:
            resume_process(target)


class WorkerHang:
    """SIGSTOP one worker process of a process target (the target sees a hung worker).

    Args:
        endpoint: The started target (it must have been started in this process).
        max_duration_s: The watchdog resumes the worker after this long (plus a second).
        worker_index: Which of the target's workers to stop (modulo their number).
    """

    kind = "worker_hang"

    def __init__(self, endpoint: TargetEndpoint, max_duration_s: float, worker_index: int = 0):
        self.endpoint = endpoint
        self.max_duration_s = max_duration_s
        self.worker_index = worker_index

    def _choose_worker(self) -> psutil.Process:
        processes = running_target(self.endpoint).processes()  # type: ignore[attr-defined]
        by_pid = {p.pid: p for p in processes}
        # The target names its workers in /health when it can; otherwise the newest leaf
        # process of the tree is the best guess at a worker.
        named: list[int] = []
        with contextlib.suppress(RunError, TypeError, ValueError):
            with TargetClient(self.endpoint, timeout_s=2.0) as client:
                health = client.health()
            named = [int(pid) for pid in (health.model_extra or {}).get("worker_pids") or []]
        workers = [by_pid[pid] for pid in named if pid in by_pid]
        if not workers:
            workers = [p for p in processes[1:] if not _is_helper(p)] or processes
        if not workers:
            raise TargetUnavailableError(f"target {self.endpoint.name!r} has no process to hang")
        return workers[self.worker_index % len(workers)]

    def inject(self, journal: FaultJournal) -> FaultHandle:
        """Journal the chosen worker, SIGSTOP it, and arm the watchdog."""
        worker = self._choose_worker()
        now = utc_now()
        fault = InjectedFault(
            kind=self.kind,
            processes=[FaultProcess(pid=worker.pid, create_time=worker.create_time())],
            started_at=now,
            expires_at=now + timedelta(seconds=self.max_duration_s),
        )
        journal(fault)
        handle = _HangHandle(fault, self.max_duration_s)
        try:
            os.kill(worker.pid, signal.SIGSTOP)
        except ProcessLookupError:
            handle.rollback()
        return handle


def _is_helper(process: psutil.Process) -> bool:
    """Whether `process` is a helper (multiprocessing's resource tracker), not a worker."""
    try:
        return any("resource_tracker" in part for part in process.cmdline())
    except psutil.Error:
        return True
