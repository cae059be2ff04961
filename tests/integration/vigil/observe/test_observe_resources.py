"""The resource sampler against the real process table: a busy tree, sockets, its own bounds."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import psutil
import pytest

from vigil.observe.resources import ResourceSampler, ResourceSamplerConfig

pytestmark = pytest.mark.integration

# A parent that spins on the CPU and holds a listening socket with one connection to itself,
# and a child that sleeps: a small tree with known shape.
TREE = textwrap.dedent(
    """
    import socket, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    print(child.pid, flush=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pass
    """
)


@pytest.fixture()
def busy_tree() -> Iterator[tuple[int, int]]:
    """(parent pid, child pid) of a running tree; both killed by pid afterwards."""
    parent = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    try:
        yield parent.pid, child_pid
    finally:
        for pid in (child_pid, parent.pid):
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
        parent.wait(timeout=10)


def test_samples_the_whole_tree_and_vigils_own_process(busy_tree: tuple[int, int]) -> None:
    parent_pid, _child_pid = busy_tree
    config = ResourceSamplerConfig(interval_seconds=0.2)
    with ResourceSampler(target_pid=parent_pid, config=config) as sampler:
        time.sleep(1.5)
    samples = sampler.samples
    assert len(samples) >= 4
    assert not sampler.running
    targets = [s.target for s in samples if s.target is not None]
    assert len(targets) == len(samples)
    assert {t.processes for t in targets} == {2}
    # The spinning parent shows a busy process (the machine is shared: no exact figure).
    assert max(t.max_process_cpu_percent for t in targets) > 20
    assert all(t.rss_bytes > 1_000_000 and t.threads >= 2 for t in targets)
    assert min(t.sockets for t in targets) >= 3  # listener, client end, accepted end
    assert all(t.open_files >= 3 and t.open_files_limit for t in targets)
    assert samples[-1].vigil.processes == 1
    assert samples[-1].vigil.threads >= 1 and samples[-1].vigil.rss_bytes > 0
    assert samples[-1].host_cpus == os.cpu_count()
    assert [s.elapsed_seconds for s in samples] == sorted(s.elapsed_seconds for s in samples)


def test_a_tree_that_ends_is_read_as_absent(busy_tree: tuple[int, int]) -> None:
    parent_pid, child_pid = busy_tree
    config = ResourceSamplerConfig(interval_seconds=0.2)
    with ResourceSampler(target_pid=parent_pid, config=config) as sampler:
        time.sleep(0.5)
        psutil.Process(child_pid).kill()
        psutil.Process(parent_pid).kill()
        time.sleep(0.8)
    samples = sampler.samples
    assert samples[0].target is not None
    assert samples[-1].target is None, samples[-1]


def test_stops_by_itself_after_its_bounds() -> None:
    config = ResourceSamplerConfig(interval_seconds=0.05, max_samples=3)
    sampler = ResourceSampler(config=config).start()
    deadline = time.monotonic() + 10
    while sampler.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sampler.running
    assert len(sampler.samples) == 3
    assert all(s.target is None for s in sampler.samples)

    timed = ResourceSampler(
        config=ResourceSamplerConfig(interval_seconds=0.05, max_seconds=0.3)
    ).start()
    deadline = time.monotonic() + 10
    while timed.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not timed.running and 1 <= len(timed.samples) <= 8


def test_an_unknown_pid_gives_no_target_samples() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=10)
    with ResourceSampler(
        target_pid=gone.pid, config=ResourceSamplerConfig(interval_seconds=0.1)
    ) as sampler:
        time.sleep(0.35)
    assert sampler.samples and all(s.target is None for s in sampler.samples)
