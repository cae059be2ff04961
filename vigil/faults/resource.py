"""Resource faults: CPU burn, memory balloon, file-descriptor hoard, disk fill.

The first three run as child processes of vigil that compete with the target for the
machine; each child ends by itself a few seconds after the fault's maximum duration
(so even a SIGKILLed vigil cannot leave one running for long) and is journalled, so a
later vigil kills any that remain. The disk filler writes one file, inside the
directory the configuration names and nowhere else, and the rollback deletes it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from vigil.errors import ConfigError, FaultRollbackError
from vigil.faults.base import ActiveFault, FaultContext, FaultEvidence, same_process
from vigil.faults.config import (
    CpuBurnConfig,
    DiskFillConfig,
    FdExhaustionConfig,
    MemoryBalloonConfig,
)
from vigil.store import ActiveFaultRecord

_SELF_EXIT_GRACE_S = 5.0
_READY_WITHIN_S = 30.0

# Each child program gets its deadline as argv[1]; it prints "ready" once the resource is held.
_BURN = """
import sys, time
end = time.monotonic() + float(sys.argv[1])
print("ready", flush=True)
while time.monotonic() < end:
    pass
"""
_BALLOON = """
import sys, time
end = time.monotonic() + float(sys.argv[1])
held = []
for _ in range(int(sys.argv[2])):
    block = bytearray(1048576)
    block[::4096] = b"\\x01" * 256
    held.append(block)
print("ready", flush=True)
while time.monotonic() < end:
    time.sleep(0.2)
"""
_HOARD = """
import os, resource, sys, time
end = time.monotonic() + float(sys.argv[1])
wanted = int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard == resource.RLIM_INFINITY or hard > wanted + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted + 64, hard))
else:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
try:
    for _ in range(wanted):
        held.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass
print("ready", len(held), flush=True)
while time.monotonic() < end:
    time.sleep(0.2)
"""


class _ChildFault(ActiveFault):
    """Base: start child processes that hold a resource; rollback kills them."""

    journalled = True
    program = ""

    def __init__(self, config: Any, context: FaultContext) -> None:
        super().__init__(config, context)
        self.children: list[subprocess.Popen[str]] = []
        self.ready_lines: list[str] = []

    def child_args(self) -> list[str]:
        """Arguments after the deadline."""
        return []

    def child_count(self) -> int:
        """How many children hold the resource."""
        return 1

    def apply(self) -> None:
        lifetime = self.config.max_duration_s + _SELF_EXIT_GRACE_S
        for _ in range(self.child_count()):
            child = subprocess.Popen(
                [sys.executable, "-c", self.program, str(lifetime), *self.child_args()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            self.children.append(child)
        self._write_child_pids()
        for child in self.children:
            assert child.stdout is not None
            self.ready_lines.append(child.stdout.readline().strip())

    def _write_child_pids(self) -> None:
        # The children exist only now: record them in the journal before waiting on them.
        if self.context.store is not None and self._journalled:
            entry = next(
                (e for e in self.context.store.active_faults() if e.id == self.fault_id), None
            )
            if entry is not None:
                entry.pids = [
                    {"pid": c.pid, "create_time": psutil.Process(c.pid).create_time()}
                    for c in self.children
                    if c.poll() is None
                ]
                self.context.store.journal_fault(entry)

    def _alive(self) -> list[psutil.Process]:
        alive = []
        for child in self.children:
            if child.poll() is None:
                with contextlib.suppress(psutil.Error):
                    alive.append(psutil.Process(child.pid))
        return alive

    def revert(self) -> bool:
        acted = False
        for child in self.children:
            if child.poll() is None:
                child.kill()
                acted = True
        for child in self.children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired as exc:
                raise FaultRollbackError(
                    f"{self.name}: child pid {child.pid} did not die after SIGKILL"
                ) from exc
            if child.stdout is not None:
                child.stdout.close()
        return acted

    def rollback_held(self) -> FaultEvidence:
        alive = self._alive()
        if alive:
            return FaultEvidence(False, f"pids {[p.pid for p in alive]} still run")
        return FaultEvidence(True, f"all {len(self.children)} child process(es) ended")

    @classmethod
    def revert_journalled(cls, entry: ActiveFaultRecord) -> str:
        killed = []
        for item in entry.pids:
            process = same_process(int(item["pid"]), float(item["create_time"]))
            if process is not None:
                with contextlib.suppress(psutil.Error):
                    process.kill()
                    killed.append(process.pid)
        return f"killed pid {killed}" if killed else "its processes had ended by themselves"


class CpuBurnFault(_ChildFault):
    """Busy processes that compete with the target for CPU."""

    kind = "cpu_burn"
    program = _BURN

    def __init__(self, config: CpuBurnConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: CpuBurnConfig = config

    def child_count(self) -> int:
        return self.config.processes

    def effect(self) -> FaultEvidence:
        alive = self._alive()
        if len(alive) < self.config.processes:
            return FaultEvidence(False, f"{len(alive)} of {self.config.processes} burners run")
        before = [sum(p.cpu_times()[:2]) for p in alive]
        time.sleep(1.0)
        used = [sum(p.cpu_times()[:2]) - b for p, b in zip(alive, before, strict=True)]
        # On a busy machine a burner gets only its share of a core; any steady use proves it.
        busy = sum(u >= 0.02 for u in used)
        seconds = ", ".join(f"{u:.2f}" for u in used)
        return FaultEvidence(
            busy == len(alive), f"{busy} of {len(alive)} burners used CPU ({seconds} s in 1 s)"
        )


class MemoryBalloonFault(_ChildFault):
    """A child process holding resident memory."""

    kind = "memory_balloon"
    program = _BALLOON

    def __init__(self, config: MemoryBalloonConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: MemoryBalloonConfig = config

    def child_args(self) -> list[str]:
        return [str(self.config.megabytes)]

    def effect(self) -> FaultEvidence:
        alive = self._alive()
        if not alive:
            return FaultEvidence(False, "the balloon process is gone")
        rss_mb = alive[0].memory_info().rss / 1_048_576
        ok = rss_mb >= 0.9 * self.config.megabytes
        return FaultEvidence(ok, f"pid {alive[0].pid} holds {rss_mb:.0f} MiB resident")


class FdExhaustionFault(_ChildFault):
    """A child process holding many open file descriptors."""

    kind = "fd_exhaustion"
    program = _HOARD

    def __init__(self, config: FdExhaustionConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: FdExhaustionConfig = config

    def child_args(self) -> list[str]:
        return [str(self.config.descriptors)]

    def effect(self) -> FaultEvidence:
        alive = self._alive()
        if not alive:
            return FaultEvidence(False, "the descriptor hoarder is gone")
        held = alive[0].num_fds()
        ok = held >= self.config.descriptors
        return FaultEvidence(ok, f"pid {alive[0].pid} holds {held} file descriptors")


class DiskFillFault(ActiveFault):
    """One filler file inside the configured directory; rollback deletes it."""

    kind = "disk_fill"
    journalled = True

    def __init__(self, config: DiskFillConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: DiskFillConfig = config
        self.path: Path | None = None
        self.written = 0
        self.disk_full = False

    def prepare(self) -> None:
        directory = Path(self.config.directory).resolve()
        if not directory.is_dir():
            raise ConfigError(
                f"{self.name}: directory {directory} does not exist; disk_fill writes only "
                "inside an existing directory the configuration names"
            )
        self.path = directory / f"vigil-disk-fill-{self.fault_id}.bin"

    def journal_detail(self) -> dict[str, Any]:
        return {"path": str(self.path)}

    def apply(self) -> None:
        assert self.path is not None
        block = b"\0" * 1_048_576
        deadline = time.monotonic() + self.config.max_duration_s
        # O_EXCL: never write into a file that was already there.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            for _ in range(self.config.megabytes):
                if time.monotonic() > deadline:
                    break
                try:
                    self.written += os.write(fd, block)
                except OSError as exc:
                    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                        self.disk_full = True  # the point of the fault
                        break
                    raise
            os.fsync(fd)
        finally:
            os.close(fd)

    def effect(self) -> FaultEvidence:
        assert self.path is not None
        size = self.path.stat().st_size if self.path.exists() else 0
        ok = size >= self.config.megabytes * 1_048_576 or self.disk_full
        full = " (the disk is full)" if self.disk_full else ""
        return FaultEvidence(ok, f"{self.path} holds {size / 1_048_576:.0f} MiB{full}")

    def revert(self) -> bool:
        assert self.path is not None
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise FaultRollbackError(
                f"{self.name}: filler file {self.path} is left behind ({exc}); delete it by hand"
            ) from exc
        return True

    def rollback_held(self) -> FaultEvidence:
        assert self.path is not None
        if self.path.exists():
            return FaultEvidence(False, f"{self.path} still exists")
        return FaultEvidence(True, f"{self.path} is deleted")

    @classmethod
    def revert_journalled(cls, entry: ActiveFaultRecord) -> str:
        path = Path(str(entry.detail.get("path", "")))
        if not path.name.startswith("vigil-disk-fill-"):
            raise FaultRollbackError(f"{entry.label}: journal names no filler file ({path})")
        try:
            path.unlink()
        except FileNotFoundError:
            return f"{path} was already gone"
        except OSError as exc:
            raise FaultRollbackError(
                f"{entry.label}: filler file {path} is left behind ({exc}); delete it by hand"
            ) from exc
        return f"deleted {path}"
