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

Run as ``python -m vigil.targets.guard --parent PID --grace SECONDS -- CMD ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

import psutil

_PR_SET_CHILD_SUBREAPER = 36
_POLL_S = 0.1


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
    child = subprocess.Popen(command)

    while True:
        if stopping or not psutil.pid_exists(args.parent) or os.getppid() != args.parent:
            stop_tree(child, args.grace)
            break
        if child.poll() is not None:
            stop_tree(child, 0.5)
            break
        _reap_adopted(child.pid)
        time.sleep(_POLL_S)
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
