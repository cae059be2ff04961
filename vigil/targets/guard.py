"""A small watchdog that keeps a launched target from outliving vigil.

vigil never starts a target's command directly. It starts this guard, which
starts the command, becomes the *subreaper* of its whole process tree and
then watches two things:

* vigil (its parent) is gone -- killed, crashed, interrupted: the guard stops
  the tree (SIGTERM, then SIGKILL after the grace period) and exits;
* the command has exited: the guard kills whatever the command left behind
  (workers re-parented to the guard) and exits with the command's status.

SIGTERM or SIGINT to the guard stops the tree the same way; that is how vigil
stops a target gracefully. The guard imports nothing heavy, so it costs a few
milliseconds of start-up.

With ``--log PATH`` the guard also keeps the command's output (stdout and stderr
together) in a size-bounded log: ``PATH`` holds at most ``--log-max-bytes``, and
when it is full it becomes ``PATH.1`` (``PATH.1`` becomes ``PATH.2`` and so on,
up to ``--log-backups`` files; the oldest is dropped). A 72-hour soak of a target
that logs every request therefore keeps its newest output without filling the
disk. Lines are kept whole where they fit.

Run as ``python -m vigil.targets.guard --parent PID --grace SECONDS
[--log PATH --log-max-bytes N --log-backups K] -- CMD ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import psutil

_PR_SET_CHILD_SUBREAPER = 36
_POLL_S = 0.1
_READ_BYTES = 65_536
_DRAIN_S = 2.0


class BoundedLog:
    """An append-only log file of at most `max_bytes`, with up to `backups` older files beside it.

    Args:
        path: The current file; older ones are ``path.1`` (newest) to ``path.<backups>``.
        max_bytes: Size at which the current file is rotated (a longer line is split).
        backups: Older files kept; 0 empties the one file instead of rotating it.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        if max_bytes < 1 or backups < 0:
            raise ValueError(f"max_bytes {max_bytes} must be >= 1 and backups {backups} >= 0")
        self.path, self.max_bytes, self.backups = Path(path), max_bytes, backups
        self._file: IO[bytes] = self.path.open("ab", buffering=0)
        self._size = self._file.tell()

    def write(self, data: bytes) -> None:
        """Append `data`, rotating first whenever it would not fit in the current file."""
        while data:
            room = self.max_bytes - self._size
            if len(data) <= room:
                self._append(data)
                return
            # What fits, up to its last newline; all that fits if the file is empty.
            cut = data.rfind(b"\n", 0, room) + 1
            if cut == 0 and self._size == 0:
                cut = room
            if cut:
                self._append(data[:cut])
                data = data[cut:]
            self._rotate()

    def close(self) -> None:
        self._file.close()

    def _append(self, data: bytes) -> None:
        self._file.write(data)
        self._size += len(data)

    def _rotate(self) -> None:
        self._file.close()
        if self.backups:
            for index in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{index}")
                if older.exists():
                    older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
            # Someone may have removed the current file meanwhile: start a new one anyway.
            with contextlib.suppress(FileNotFoundError):
                self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._file = self.path.open("wb", buffering=0)
        self._size = 0


def _pump(source: IO[bytes], log: BoundedLog) -> None:
    """Copy the command's output into the log until every writer has closed the pipe."""
    fd = source.fileno()
    try:
        while chunk := os.read(fd, _READ_BYTES):
            log.write(chunk)
    except OSError as exc:  # the disk is full, say: keep the tree running without its log
        print(f"vigil guard: cannot write the target's log: {exc}", file=sys.stderr)
        while os.read(fd, _READ_BYTES):
            pass


def _become_subreaper() -> None:
    """Make orphaned descendants re-parent to this process instead of init (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _descendants() -> list[psutil.Process]:
    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def stop_tree(child: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the command, wait up to `grace_s` for it, then SIGKILL every descendant."""
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        deadline = time.monotonic() + grace_s
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(_POLL_S)
    # Give the command's own workers the rest of the grace period to follow it out.
    leftovers = _descendants()
    _, alive = psutil.wait_procs(leftovers, timeout=min(1.0, grace_s))
    for process in alive + _descendants():
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(_descendants(), timeout=2.0)
    if child.poll() is None:
        child.wait(timeout=2.0)


def main(argv: list[str] | None = None) -> int:
    """Run the guard; returns the command's exit status."""
    parser = argparse.ArgumentParser(prog="python -m vigil.targets.guard")
    parser.add_argument("--parent", type=int, required=True, help="pid of the vigil process")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds between TERM and KILL")
    parser.add_argument("--log", type=Path, help="keep the command's output in this bounded log")
    parser.add_argument("--log-max-bytes", type=int, default=16 * 2**20, help="size of one file")
    parser.add_argument("--log-backups", type=int, default=3, help="older files kept")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")

    _become_subreaper()
    stopping = False

    def _request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    log = BoundedLog(args.log, args.log_max_bytes, args.log_backups) if args.log else None
    if log is None:
        child = subprocess.Popen(command)
        pump = None
    else:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        pump = threading.Thread(target=_pump, args=(child.stdout, log), daemon=True)
        pump.start()

    while True:
        if stopping or not psutil.pid_exists(args.parent) or os.getppid() != args.parent:
            stop_tree(child, args.grace)
            break
        if child.poll() is not None:
            stop_tree(child, 0.5)
            break
        _reap_adopted(child.pid)
        time.sleep(_POLL_S)
    if pump is not None and log is not None:
        # Every process of the tree is gone, so the pipe ends once its last bytes are read.
        pump.join(timeout=_DRAIN_S)
        if not pump.is_alive():
            log.close()
    return child.returncode if child.returncode is not None else 1


def _reap_adopted(child_pid: int) -> None:
    """Collect exit statuses of adopted orphans so they do not linger as zombies."""
    for process in psutil.Process().children():
        if process.pid == child_pid:
            continue
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(process.pid, os.WNOHANG)
        except (psutil.Error, ChildProcessError):
            pass


if __name__ == "__main__":
    sys.exit(main())
