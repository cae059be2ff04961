"""The process target against the real reference service: start, health, stop, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from vigil.config import HttpTargetConfig, ProcessSelector, ProcessTargetConfig, load_config
from vigil.errors import TargetUnavailableError
from vigil.targets import open_target
from vigil.targets.client import TargetClient
from vigil.targets.http import HttpTarget
from vigil.targets.process import ProcessTarget

from .chatty_target import LAST, LINES

pytestmark = pytest.mark.integration

OWNER = Path(__file__).with_name("target_owner.py")
CHATTY = Path(__file__).with_name("chatty_target.py")


def reference_config(**changes: object) -> ProcessTargetConfig:
    config = load_config(None, "development").target
    assert isinstance(config, ProcessTargetConfig)
    return config.model_copy(update=changes)


def alive(pids: list[int]) -> list[int]:
    """Pids still running (zombies count as gone: their process has ended)."""
    running = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
        except psutil.NoSuchProcess:
            pass
    return running


def wait_gone(pids: list[int], timeout_s: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive(pids)


def test_reference_starts_healthy_and_stops_with_its_whole_tree(tmp_path: Path) -> None:
    target = open_target(reference_config(), tmp_path)
    assert isinstance(target, ProcessTarget)
    with target:
        with TargetClient(target.endpoint) as client:
            health = client.health()
        assert health.status == "ok"
        assert target.endpoint.base_url.startswith("http://127.0.0.1:")
        tree = [target.guard_pid, *(p.pid for p in target.processes())]
        assert len(tree) >= 3  # guard, supervisor, at least one worker
    assert wait_gone(tree) == []


def test_generated_admin_token_reaches_the_service(tmp_path: Path) -> None:
    with (
        open_target(reference_config(), tmp_path) as target,
        TargetClient(target.endpoint) as client,
    ):
        assert client.admin("GET", "/admin/models").status_code == 200
        assert client.request("GET", "/admin/models").status_code == 401


def test_target_that_exits_at_start_shows_its_log(tmp_path: Path) -> None:
    config = reference_config(
        command=["{python}", "-c", "import sys; print('boom: no such flag --frob'); sys.exit(3)"]
    )
    with pytest.raises(TargetUnavailableError) as caught, open_target(config, tmp_path):
        pass
    message = str(caught.value)
    assert "exited before it became healthy" in message
    assert "boom: no such flag --frob" in message


def test_target_that_never_becomes_healthy_times_out_and_is_stopped(tmp_path: Path) -> None:
    config = reference_config(
        command=["{python}", "-c", "import time; time.sleep(120)"], startup_timeout_s=2
    )
    target = open_target(config, tmp_path)
    with pytest.raises(TargetUnavailableError, match=r"not healthy .* within 2 s"):
        target.__enter__()
    assert target.guard_pid is None
    leftovers = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if "time.sleep(120)" in " ".join(p.info["cmdline"] or [])
    ]
    assert wait_gone(leftovers) == []


def test_a_chatty_target_keeps_its_newest_output_within_the_log_bounds(tmp_path: Path) -> None:
    config = reference_config(
        command=["{python}", str(CHATTY), "{port}"], log_max_bytes=65_536, log_backups=2
    )
    target = open_target(config, tmp_path)
    with target:
        log = target.log_path
        deadline = time.monotonic() + 30
        while LAST.encode() not in log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.1)
    kept = sorted(log.parent.glob("target.log*"))
    assert [p.name for p in kept] == ["target.log", "target.log.1", "target.log.2"]
    assert all(p.stat().st_size <= 65_536 for p in kept)
    assert log.read_bytes().endswith(LAST.encode() + b"\n")
    # The newest lines, whole and in order, across the files: oldest file first.
    lines = b"".join(p.read_bytes() for p in reversed(kept)).decode().splitlines()
    numbers = [int(line.split()[1]) for line in lines[:-1]]
    assert all(len(line) == 100 for line in lines[:-1])
    assert numbers == list(range(numbers[0], LINES))
    assert LINES - numbers[0] > 65_536 * 2 // 101  # at least two full files of lines
    assert not (log.parent / "target.log.3").exists()
    assert (log.parent / "guard.log").read_text() == ""


def start_owner(tmp_path: Path) -> tuple[subprocess.Popen[str], list[int]]:
    owner = subprocess.Popen(
        [sys.executable, str(OWNER), str(tmp_path / "target")],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = owner.stdout.readline()
    assert line, "the owner process ended before the target was healthy"
    pids = [int(p) for p in line.split()]
    assert len(alive(pids)) == len(pids) >= 3
    return owner, pids


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_no_orphan_survives_when_vigil_is_killed_or_interrupted(
    tmp_path: Path, how: signal.Signals
) -> None:
    owner, pids = start_owner(tmp_path)
    try:
        owner.send_signal(how)
        owner.wait(timeout=60)
        assert wait_gone(pids) == []
    finally:
        for pid in alive(pids):
            os.kill(pid, signal.SIGKILL)


def test_killing_the_service_also_ends_its_workers(tmp_path: Path) -> None:
    target = open_target(reference_config(), tmp_path)
    with target:
        main = target.main_process()
        workers = [p.pid for p in main.children(recursive=True)]
        assert workers
        main.kill()  # the supervisor dies without stopping its workers
        assert wait_gone([main.pid, *workers]) == []


def test_http_target_finds_a_process_it_did_not_start(tmp_path: Path) -> None:
    with open_target(reference_config(), tmp_path) as launched:
        service = launched.main_process()
        config = HttpTargetConfig(
            base_url=launched.endpoint.base_url,
            process=ProcessSelector(cmdline_pattern=rf"^\S*python\S* -m reference .*{tmp_path}"),
        )
        target = open_target(config, tmp_path)
        assert isinstance(target, HttpTarget)
        with target:
            assert target.main_process().pid == service.pid
            assert "process_control" in target.endpoint.capabilities
        assert service.is_running()  # vigil never stops what it did not start


def test_http_target_that_does_not_answer(tmp_path: Path) -> None:
    config = HttpTargetConfig(base_url="http://127.0.0.1:9", startup_timeout_s=1)
    with pytest.raises(
        TargetUnavailableError, match=r"was not healthy at http://127\.0\.0\.1:9/health"
    ):
        open_target(config, tmp_path).start()
