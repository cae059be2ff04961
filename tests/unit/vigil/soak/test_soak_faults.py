"""The fault seam's process control on a real child process: stop, resume, watchdog, revert."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest

from vigil.results import utc_now
from vigil.soak.faults import (
    FaultProcess,
    InjectedFault,
    _HangHandle,
    is_stopped,
    resume_process,
    revert_stopped,
)


@pytest.fixture
def sleeper():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child
    child.kill()
    child.wait(timeout=10)


def _wait_status(pid: int, stopped: bool, timeout: float = 5.0) -> bool:
    target = FaultProcess(pid=pid, create_time=psutil.Process(pid).create_time())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_stopped(target) is stopped:
            return True
        time.sleep(0.02)
    return False


def _as_fault_process(child) -> FaultProcess:
    return FaultProcess(pid=child.pid, create_time=psutil.Process(child.pid).create_time())


def test_revert_stopped_resumes_a_stopped_process(sleeper):
    target = _as_fault_process(sleeper)
    sleeper.send_signal(signal.SIGSTOP)
    assert _wait_status(sleeper.pid, stopped=True)
    assert revert_stopped([target]) == [sleeper.pid]
    assert _wait_status(sleeper.pid, stopped=False)
    assert revert_stopped([target]) == []  # nothing left to revert


def test_a_reused_pid_is_never_signalled(sleeper):
    impostor = FaultProcess(pid=sleeper.pid, create_time=0.0)
    sleeper.send_signal(signal.SIGSTOP)
    assert _wait_status(sleeper.pid, stopped=True)
    assert not is_stopped(impostor)
    assert resume_process(impostor) is False
    assert revert_stopped([impostor]) == []
    sleeper.send_signal(signal.SIGCONT)


def test_the_watchdog_resumes_the_process_when_nobody_rolls_back(sleeper):
    target = _as_fault_process(sleeper)
    now = utc_now()
    fault = InjectedFault(kind="worker_hang", processes=[target], started_at=now, expires_at=now)
    sleeper.send_signal(signal.SIGSTOP)
    assert _wait_status(sleeper.pid, stopped=True)
    _HangHandle(fault, max_duration_s=0.2)  # watchdog at 0.2 s + 1 s margin
    assert _wait_status(sleeper.pid, stopped=False, timeout=10.0)


def test_rollback_is_idempotent_and_cancels_the_watchdog(sleeper):
    target = _as_fault_process(sleeper)
    now = utc_now()
    fault = InjectedFault(kind="worker_hang", processes=[target], started_at=now, expires_at=now)
    sleeper.send_signal(signal.SIGSTOP)
    handle = _HangHandle(fault, max_duration_s=30.0)
    handle.rollback()
    handle.rollback()
    assert _wait_status(sleeper.pid, stopped=False)
    handle._watchdog.join(timeout=5)
    assert not handle._watchdog.is_alive()
