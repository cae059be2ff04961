"""Process faults on a service vigil did not start: a plain server kept alive by supervisord.

vigil finds the process by pid file (or command-line pattern), as an http target;
each fault proves its effect, and its rollback proves the service answers again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.services import require_service
from vigil.config import HttpTargetConfig, ProcessSelector
from vigil.faults import inject
from vigil.faults.base import FaultContext
from vigil.faults.config import (
    ProcessHangConfig,
    ProcessKillConfig,
    ProcessRestartConfig,
    ProcessRole,
    ProcessTerminateConfig,
)
from vigil.targets import open_target
from vigil.targets.base import free_port
from vigil.targets.http import HttpTarget

pytestmark = pytest.mark.integration

SERVER = Path(__file__).with_name("plain_server.py")


class Supervised:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.pid_file = folder / "plain.pid"
        conf = folder / "supervisord.conf"
        conf.write_text(
            f"""[supervisord]
nodaemon=true
logfile={folder / "supervisord.log"}
pidfile={folder / "supervisord.pid"}
childlogdir={folder}

[program:plain]
command={sys.executable} {SERVER} {self.port} {self.pid_file}
autorestart=true
startsecs=0
startretries=100
stopsignal=TERM
"""
        )
        self.process = subprocess.Popen(
            ["supervisord", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def target(self, selector: ProcessSelector) -> HttpTarget:
        target = open_target(
            HttpTargetConfig(
                name="plain",
                base_url=f"http://127.0.0.1:{self.port}",
                process=selector,
                startup_timeout_s=30,
            ),
            None,  # type: ignore[arg-type]
        )
        target.start()
        return target  # type: ignore[return-value]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture()
def supervised(tmp_path: Path) -> Iterator[Supervised]:
    if shutil.which("supervisord") is None:
        require_service("supervisor", "supervisord is not installed (apt-get install supervisor)")
    service = Supervised(tmp_path)
    try:
        yield service
    finally:
        service.stop()


def by_pid_file(service: Supervised) -> ProcessSelector:
    return ProcessSelector(pid_file=service.pid_file)


def by_pattern(service: Supervised) -> ProcessSelector:
    return ProcessSelector(cmdline_pattern=rf"plain_server\.py {service.port} ")


@pytest.mark.parametrize(
    "config",
    [
        ProcessKillConfig(role=ProcessRole.MAIN),
        ProcessTerminateConfig(role=ProcessRole.MAIN),
        ProcessRestartConfig(),
    ],
    ids=lambda c: c.kind,
)
@pytest.mark.parametrize("select", [by_pid_file, by_pattern], ids=["pid_file", "pattern"])
def test_supervisord_replaces_the_process_and_the_rollback_proves_it(
    supervised: Supervised,
    config,
    select,
) -> None:
    target = supervised.target(select(supervised))
    before = target.main_process().pid
    fault = inject(config, FaultContext(target.endpoint, target, recovery_timeout_s=20))
    effect = fault.effect()
    assert effect.ok, effect.detail
    assert not psutil.pid_exists(before) or psutil.Process(before).status() == "zombie"
    fault.rollback()
    held = fault.rollback_held()
    assert held.ok, held.detail
    assert target.main_process().pid != before


@pytest.mark.parametrize("select", [by_pid_file, by_pattern], ids=["pid_file", "pattern"])
def test_a_hang_stops_the_found_process_and_its_rollback_continues_it(
    supervised: Supervised,
    select,
) -> None:
    target = supervised.target(select(supervised))
    pid = target.main_process().pid
    fault = inject(ProcessHangConfig(role=ProcessRole.MAIN), FaultContext(target.endpoint, target))
    assert fault.effect().ok
    assert psutil.Process(pid).status() == psutil.STATUS_STOPPED
    assert not fault._target_healthy(1.0).ok  # the hang is real: health does not answer
    assert fault.rollback() is True
    held = fault.rollback_held()
    assert held.ok, held.detail
    assert target.main_process().pid == pid  # the same process, continued, not replaced
    time.sleep(0.1)
    assert psutil.Process(pid).status() != psutil.STATUS_STOPPED
