"""Process faults: kill, terminate, hang (SIGSTOP) and restart a target's process.

They act on a process vigil started (:class:`vigil.targets.process.ProcessTarget`) or
one it found by pid file or command-line pattern (:class:`vigil.targets.http.HttpTarget`
with ``process``). A fault only ever signals a process of the target's own tree: the
worker it hits is chosen among the target's descendants, never by a pid from outside.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Any

import psutil

from vigil.errors import FaultRollbackError, TargetUnavailableError
from vigil.faults.base import ActiveFault, FaultContext, FaultEvidence, same_process
from vigil.faults.config import (
    ProcessHangConfig,
    ProcessRestartConfig,
    ProcessRole,
    _ProcessFault,
)
from vigil.store import ActiveFaultRecord
from vigil.targets.client import TargetClient
from vigil.targets.process import ProcessTarget

_GONE_WITHIN_S = 5.0
_QUICK_HEALTH_S = 3.0


def _controllable(context: FaultContext) -> Any:
    target = context.target
    if target is None or not hasattr(target, "main_process"):
        raise TargetUnavailableError(
            f"target {context.endpoint.name!r} offers no process control: start it as a "
            "process target, or name its process (target.process) for an http target"
        )
    return target


def _reported_workers(context: FaultContext) -> set[int]:
    """Worker pids the target's health reports (the reference does), if any."""
    try:
        with TargetClient(context.endpoint, timeout_s=2.0) as client:
            health = client.health()
    except (TargetUnavailableError, ValueError):
        return set()
    pids = getattr(health, "worker_pids", None) or []
    return {int(pid) for pid in pids if isinstance(pid, int)}


def choose_process(config: _ProcessFault, context: FaultContext) -> psutil.Process:
    """The one process of the target's tree that `config` names.

    Raises:
        TargetUnavailableError: the target has no such process.
    """
    target = _controllable(context)
    main = target.main_process()
    if config.role is ProcessRole.MAIN:
        return main
    tree = [p for p in target.processes() if p.pid != main.pid]
    reported = _reported_workers(context)
    workers = [p for p in tree if p.pid in reported] if reported else tree
    workers.sort(key=lambda p: p.create_time())
    if len(workers) <= config.worker_index:
        raise TargetUnavailableError(
            f"target {context.endpoint.name!r} has {len(workers)} worker process(es); "
            f"worker_index {config.worker_index} does not exist"
        )
    return workers[config.worker_index]


def _gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


class _SignalFault(ActiveFault):
    """Send one signal to one process; rollback brings the target back if it stayed down."""

    signal_number: int = signal.SIGKILL

    def __init__(self, config: _ProcessFault, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: _ProcessFault = config
        self.process: psutil.Process | None = None

    def prepare(self) -> None:
        self.process = choose_process(self.config, self.context)

    def apply(self) -> None:
        assert self.process is not None
        self.process.send_signal(self.signal_number)

    def effect(self) -> FaultEvidence:
        assert self.process is not None
        deadline = time.monotonic() + _GONE_WITHIN_S
        while time.monotonic() < deadline:
            if _gone(self.process):
                return FaultEvidence(True, f"pid {self.process.pid} has exited")
            time.sleep(0.05)
        return FaultEvidence(False, f"pid {self.process.pid} still runs {_GONE_WITHIN_S:g} s on")

    def revert(self) -> bool:
        if self._target_healthy(_QUICK_HEALTH_S).ok:
            return False
        target = self.context.target
        if isinstance(target, ProcessTarget):
            # vigil launched it, so vigil can bring it back: same port, same token.
            target.restart()
            return True
        healthy = self._target_healthy()
        if not healthy.ok:
            raise FaultRollbackError(
                f"{self.name}: target {self.context.endpoint.name!r} is still down after pid "
                f"{self.process.pid if self.process else '?'} got signal "
                f"{signal.Signals(self.signal_number).name}, and vigil did not start it so "
                f"cannot restart it ({healthy.detail}); restart it by hand"
            )
        return False

    def rollback_held(self) -> FaultEvidence:
        return self._target_healthy()


class ProcessKillFault(_SignalFault):
    """SIGKILL a worker or the main process."""

    kind = "process_kill"
    signal_number = signal.SIGKILL


class ProcessTerminateFault(_SignalFault):
    """SIGTERM a worker or the main process."""

    kind = "process_terminate"
    signal_number = signal.SIGTERM


class ProcessHangFault(ActiveFault):
    """SIGSTOP one process; SIGCONT on rollback (and from the journal after vigil died)."""

    kind = "process_hang"
    journalled = True

    def __init__(self, config: ProcessHangConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: ProcessHangConfig = config
        self.process: psutil.Process | None = None
        self.create_time = 0.0

    def prepare(self) -> None:
        self.process = choose_process(self.config, self.context)
        self.create_time = self.process.create_time()

    def journal_pids(self) -> list[psutil.Process]:
        return [self.process] if self.process is not None else []

    def apply(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def effect(self) -> FaultEvidence:
        assert self.process is not None
        deadline = time.monotonic() + _GONE_WITHIN_S
        while time.monotonic() < deadline:
            try:
                status = self.process.status()
            except psutil.Error:
                return FaultEvidence(False, f"pid {self.process.pid} is gone, not stopped")
            if status == psutil.STATUS_STOPPED:
                return FaultEvidence(True, f"pid {self.process.pid} is stopped (SIGSTOP)")
            time.sleep(0.02)
        return FaultEvidence(False, f"pid {self.process.pid} is {status}, not stopped")

    def revert(self) -> bool:
        assert self.process is not None
        return _continue(self.process.pid, self.create_time, self.name)

    def rollback_held(self) -> FaultEvidence:
        assert self.process is not None
        process = same_process(self.process.pid, self.create_time)
        if process is not None:
            with contextlib.suppress(psutil.Error):
                if process.status() == psutil.STATUS_STOPPED:
                    return FaultEvidence(False, f"pid {process.pid} is still stopped")
        return self._target_healthy()

    @classmethod
    def revert_journalled(cls, entry: ActiveFaultRecord) -> str:
        continued = [
            str(item["pid"])
            for item in entry.pids
            if _continue(int(item["pid"]), float(item["create_time"]), entry.label)
        ]
        return f"sent SIGCONT to pid {', '.join(continued)}" if continued else "process gone"


def _continue(pid: int, create_time: float, name: str) -> bool:
    """SIGCONT `pid` if it is still the stopped process; return whether it had to be."""
    process = same_process(pid, create_time)
    if process is None:
        return False  # it is gone (the target replaced it): nothing is left stopped
    try:
        stopped = process.status() == psutil.STATUS_STOPPED
        process.send_signal(signal.SIGCONT)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error as exc:
        raise FaultRollbackError(
            f"{name}: pid {pid} is left stopped (SIGSTOP): SIGCONT failed ({exc}); "
            f"run `kill -CONT {pid}`"
        ) from exc
    time.sleep(0.05)
    with contextlib.suppress(psutil.Error):
        if process.status() == psutil.STATUS_STOPPED:
            raise FaultRollbackError(
                f"{name}: pid {pid} is still stopped after SIGCONT; run `kill -CONT {pid}`"
            )
    return stopped


class ProcessRestartFault(ActiveFault):
    """Restart the target: vigil's own process target, or SIGTERM a found process.

    A found process is expected to be replaced by whatever manages it (supervisord,
    systemd): the fault proves a new process took over within ``replaced_within_s``.
    """

    kind = "process_restart"

    def __init__(self, config: ProcessRestartConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: ProcessRestartConfig = config
        self.old_pid = 0

    def prepare(self) -> None:
        self.old_pid = _controllable(self.context).main_process().pid

    def apply(self) -> None:
        target = self.context.target
        if isinstance(target, ProcessTarget):
            target.restart()
        else:
            os.kill(self.old_pid, signal.SIGTERM)

    def effect(self) -> FaultEvidence:
        target = _controllable(self.context)
        deadline = time.monotonic() + self.config.replaced_within_s
        while time.monotonic() < deadline:
            try:
                pid = target.main_process().pid
                if pid != self.old_pid:
                    return FaultEvidence(True, f"pid {self.old_pid} was replaced by pid {pid}")
            except TargetUnavailableError:
                pass
            time.sleep(0.1)
        return FaultEvidence(
            False, f"pid {self.old_pid} was not replaced within {self.config.replaced_within_s:g} s"
        )

    def revert(self) -> bool:
        if self._target_healthy(_QUICK_HEALTH_S).ok:
            return False
        target = self.context.target
        if isinstance(target, ProcessTarget):
            target.restart()
            return True
        healthy = self._target_healthy()
        if not healthy.ok:
            raise FaultRollbackError(
                f"{self.name}: target {self.context.endpoint.name!r} did not come back after its "
                f"process {self.old_pid} was restarted ({healthy.detail}); restart it by hand"
            )
        return False

    def rollback_held(self) -> FaultEvidence:
        return self._target_healthy()


__all__ = [
    "ProcessHangFault",
    "ProcessKillFault",
    "ProcessRestartFault",
    "ProcessTerminateFault",
    "choose_process",
]
