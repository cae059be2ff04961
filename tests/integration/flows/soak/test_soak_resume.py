"""A soak killed outright in its second cycle resumes from its checkpoint, leaving nothing behind.

The soak runs as a user runs it (``vigil soak``) in its own process, against the reference
service, using the session's Prefect server. It is SIGKILLed while the worker hang of cycle 2
is active; run again with the same soak id it keeps cycle 1, redoes cycle 2, and no process is
left stopped or orphaned.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from vigil.soak.faults import FaultProcess, is_stopped
from vigil.store import SoakCheckpoints, Store

pytestmark = pytest.mark.integration

SOAK_ID = "soak-resume-test"
VIGIL = str(Path(sys.executable).with_name("vigil"))


@pytest.fixture
def prefect_env(prefect_harness):
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return {**os.environ, "PREFECT_API_URL": str(url), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def _target_processes(soak_id: str) -> list[psutil.Process]:
    """Processes of the soak's target (their command line names its data folder)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(f"targets/{soak_id}" in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


def _wait(what: str, predicate, timeout: float, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}; soak log tail:\n{tail}")


def test_a_killed_soak_resumes_keeping_completed_cycles_and_reverting_its_fault(
    tmp_path, prefect_env
):
    command = [VIGIL, "soak", "--duration", "30s", "--soak-id", SOAK_ID]
    store = Store.open(f"sqlite:///{tmp_path / '.vigil' / 'vigil.db'}")
    checkpoints = SoakCheckpoints(store)
    first_log = tmp_path / "first.log"
    with first_log.open("wb") as log:
        first = subprocess.Popen(
            command, cwd=tmp_path, env=prefect_env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        # Kill it while the worker hang of cycle 2 is active (journalled, not yet reverted).
        active = _wait(
            "the fault of cycle 2",
            lambda: [f for f in checkpoints.faults(SOAK_ID, active_only=True) if f.cycle == 2],
            240,
            first_log,
        )
        # The soak restarted itself on glibc's malloc (same process id, vigil.cli).
        environ = Path(f"/proc/{first.pid}/environ").read_bytes().split(b"\0")
        assert b"PYTHONMALLOC=malloc" in environ
        # ...and kept it to itself: the target runs on its own allocator settings.
        for process in _target_processes(SOAK_ID):
            assert "PYTHONMALLOC" not in process.environ(), process.cmdline()
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
    hung = [FaultProcess.model_validate(p) for p in active[0].processes]
    assert hung, "the journal must name the process it stopped"
    kept = checkpoints.cycles(SOAK_ID)
    assert [c.cycle for c in kept] == [1]
    # The target guard stops the whole target tree once vigil is gone: nothing is orphaned.
    _wait("the target tree to be stopped", lambda: not _target_processes(SOAK_ID), 60, first_log)

    second_log = tmp_path / "second.log"
    with second_log.open("wb") as log:
        second = subprocess.run(
            command,
            cwd=tmp_path,
            env=prefect_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
        )
    output = second_log.read_text(errors="replace")
    assert second.returncode in (0, 1), output[-3000:]
    assert f"soak {SOAK_ID}:" in output
    # `vigil soak` capped malloc's arenas before Prefect started its threads (vigil.soak.heap).
    assert "malloc arena limit" not in first_log.read_text(errors="replace") + output

    cycles = checkpoints.cycles(SOAK_ID)
    assert [c.cycle for c in cycles] == [1, 2], "cycle 1 is kept, cycle 2 redone"
    assert cycles[0].finished_at == kept[0].finished_at, "cycle 1 was not run again"
    assert cycles[0].figures == kept[0].figures
    record = checkpoints.get(SOAK_ID)
    assert record is not None and record.attempts == 2 and record.status == "completed"

    journal = checkpoints.faults(SOAK_ID)
    assert checkpoints.faults(SOAK_ID, active_only=True) == []
    interrupted = next(f for f in journal if f.id == active[0].id)
    assert interrupted.reverted_by == "resume"
    assert [f.cycle for f in journal].count(2) == 2, "the redone cycle injected its fault again"
    for entry in journal:
        for process in entry.processes:
            assert not is_stopped(FaultProcess.model_validate(process)), entry
    assert not any(is_stopped(p) for p in hung)
    assert not _target_processes(SOAK_ID)

    status = subprocess.run(
        [VIGIL, "soak", "status", SOAK_ID],
        cwd=tmp_path,
        env=prefect_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert "completed, 2 of 2 cycles checkpointed, attempt 2" in status.stdout
    assert "soak cycle 2/2" in status.stdout
    shown = subprocess.run(
        [VIGIL, "runs", "show", SOAK_ID],
        cwd=tmp_path,
        env=prefect_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(status.stdout.splitlines()[0]), shown.stdout[:500]
    assert "soak cycle 2/2" in shown.stdout
    assert "soak" in shown.stdout.split("active faults: 0", 1)[1], "then the run's summary"
    store.close()
