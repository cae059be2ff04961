"""Faults never outlive vigil: the timer, a signal, a failing step, and the journal after SIGKILL.

The reference runs with self-healing off, so a hung worker stays hung until vigil
reverts it; the vigil side is a separate process (``fault_holder.py``) that finds
the reference by command-line pattern, as it would a service it did not start.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.integration.reference.conftest import ReferenceService, start_service, stop_service
from vigil.config import HttpTargetConfig, ProcessSelector
from vigil.errors import FaultRollbackError
from vigil.faults import inject, revert_journalled_faults
from vigil.faults.base import FaultContext
from vigil.faults.config import ProcessHangConfig
from vigil.store import ActiveFaultRecord, Store
from vigil.targets import open_target

pytestmark = pytest.mark.integration

HOLDER = Path(__file__).with_name("fault_holder.py")
REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def never_heals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceService]:
    service = start_service(
        tmp_path_factory.mktemp("never-heals"), "--self-healing-enabled", "false"
    )
    try:
        yield service
    finally:
        stop_service(service)


def worker(service: ReferenceService) -> psutil.Process:
    return psutil.Process(service.health()["worker_pids"][0])


def serves(service: ReferenceService) -> bool:
    try:
        return service.client.get("/health", timeout=1.5).json()["status"] == "ok"
    except httpx.HTTPError:
        return False


def wait_serving(service: ReferenceService, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if serves(service):
            return True
        time.sleep(0.1)
    return False


def start_holder(
    store_url: str, service: ReferenceService, mode: str
) -> tuple[subprocess.Popen, int]:
    holder = subprocess.Popen(
        [
            sys.executable,
            str(HOLDER),
            store_url,
            service.base_url,
            str(service.data_dir),
            "process_hang",
            mode,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = holder.stdout.readline()
    assert line.startswith("injected "), holder.stderr.read() if holder.poll() is not None else line
    return holder, int(line.split()[1])


def test_sigkilled_vigil_leaves_a_journal_that_a_new_process_reverts(
    never_heals: ReferenceService, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    holder, pid = start_holder(url, never_heals, "sleep")
    try:
        assert psutil.Process(pid).status() == psutil.STATUS_STOPPED
        assert not serves(never_heals)
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        # vigil is gone and the worker is still stopped: only the journal knows.
        assert psutil.Process(pid).status() == psutil.STATUS_STOPPED
        [entry] = Store.open(url).active_faults()
        assert (entry.kind, entry.pids[0]["pid"]) == ("process_hang", pid)

        revert = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from vigil.store import Store; "
                "from vigil.faults import revert_journalled_faults; "
                "print(revert_journalled_faults(Store.open(sys.argv[1])))",
                url,
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert revert.returncode == 0, revert.stderr
        assert f"sent SIGCONT to pid {pid}" in revert.stdout
        assert psutil.Process(pid).status() != psutil.STATUS_STOPPED
        assert wait_serving(never_heals)
        assert Store.open(url).active_faults() == []
    finally:
        if holder.poll() is None:
            holder.kill()
        psutil.Process(pid).resume()


@pytest.mark.parametrize("mode", ["signals", "fail"])
def test_sigterm_or_a_failing_step_rolls_the_hang_back_before_vigil_ends(
    never_heals: ReferenceService, tmp_path: Path, mode: str
) -> None:
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    holder, pid = start_holder(url, never_heals, mode)
    try:
        if mode == "signals":
            holder.send_signal(signal.SIGTERM)
        code = holder.wait(30)
        assert code != 0
        if mode == "fail":
            assert "the step failed on purpose" in holder.stderr.read()
        assert psutil.Process(pid).status() != psutil.STATUS_STOPPED
        assert wait_serving(never_heals)
        assert Store.open(url).active_faults() == []
    finally:
        if holder.poll() is None:
            holder.kill()
        psutil.Process(pid).resume()


def test_a_fault_is_reverted_when_its_maximum_duration_passes(
    never_heals: ReferenceService, tmp_path: Path
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    target = open_target(
        HttpTargetConfig(
            base_url=never_heals.base_url,
            process=ProcessSelector(cmdline_pattern=f"--data-dir {never_heals.data_dir}( |$)"),
        ),
        None,  # type: ignore[arg-type]
    )
    target.start()
    fault = inject(
        ProcessHangConfig(max_duration_s=1.0), FaultContext(target.endpoint, target, store=store)
    )
    pid = fault.process.pid  # type: ignore[attr-defined]
    assert fault.effect().ok
    assert len(store.active_faults()) == 1
    time.sleep(1.8)
    assert fault.rolled_back_at is not None
    assert psutil.Process(pid).status() != psutil.STATUS_STOPPED
    assert store.active_faults() == []
    assert fault.rollback_held().ok
    assert fault.rollback() is True  # idempotent: the timer's outcome is repeated


def test_a_journal_entry_that_cannot_be_reverted_raises_saying_what_is_left(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    store.journal_fault(
        ActiveFaultRecord(
            id="x1",
            kind="process_quake",
            label="quake",
            owner_pid=1,
            started_at=datetime.now(UTC) - timedelta(minutes=5),
            expires_at=datetime.now(UTC) - timedelta(minutes=4),
        )
    )
    with pytest.raises(FaultRollbackError, match="quake: unknown fault kind 'process_quake'"):
        revert_journalled_faults(store)
    assert [e.id for e in store.active_faults()] == ["x1"]
