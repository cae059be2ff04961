"""Resource samples of the target and of vigil itself, taken by a background thread.

:class:`ResourceSampler` is a context manager: entering it starts a daemon thread that, every
``interval_seconds``, reads through psutil the whole process tree below the target's pid (CPU %,
resident memory, threads, file descriptors, sockets), vigil's own process, the machine's
CPU and memory, and for a docker target the container's statistics through the Docker SDK.
Leaving it stops the thread and :attr:`ResourceSampler.samples` holds what was seen. The thread
also stops by itself after ``max_samples`` samples or ``max_seconds``, so a forgotten sampler
cannot grow without bound.

CPU percentages follow ``top``: 100 is one core fully busy, so a tree of processes on a 2-core
machine may read up to 200. A process's first reading is 0 (psutil measures CPU between two
calls), which is why the sampler keeps the same psutil objects from one sample to the next.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from datetime import datetime
from types import TracebackType
from typing import Any

import psutil
from pydantic import BaseModel, ConfigDict, Field

from vigil.config_base import StrictModel
from vigil.results import utc_now

DOCKER_TIMEOUT_SECONDS = 5.0
"""Bound on one call to the Docker engine."""


class ResourceSamplerConfig(StrictModel):
    """How often to sample and when the sampler stops by itself."""

    interval_seconds: float = Field(
        default=1.0, ge=0.05, le=60, description="Time between two samples."
    )
    max_samples: int = Field(
        default=3600, ge=1, le=1_000_000, description="The sampler stops after this many samples."
    )
    socket_interval_seconds: float = Field(
        default=5.0,
        ge=0.05,
        le=3600,
        description="How often sockets are counted (a readlink per descriptor: about 10 us "
        "each, so 30 ms for a process holding 3000); samples in between repeat the last count.",
    )
    max_seconds: float = Field(
        default=3600.0,
        gt=0,
        le=7 * 24 * 3600,
        description="The sampler stops this long after it started, whatever happens.",
    )


class ProcessGroupSample(BaseModel):
    """One reading of a group of processes (a service's tree, or vigil's own process)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    processes: int = Field(ge=0, description="Processes read in this sample.")
    cpu_percent: float = Field(ge=0, description="CPU of all of them (100 = one core).")
    max_process_cpu_percent: float = Field(
        ge=0, description="CPU of the busiest single process (a single event loop caps at 100)."
    )
    rss_bytes: int = Field(ge=0, description="Resident memory summed over the processes.")
    threads: int = Field(ge=0)
    open_files: int = Field(ge=0, description="File descriptors (files and sockets).")
    open_files_limit: int | None = Field(
        default=None, description="Lowest soft RLIMIT_NOFILE among the processes."
    )
    sockets: int = Field(
        ge=0,
        description="Open sockets of the processes (TCP connections and listeners, UDP, Unix).",
    )


class ContainerSample(BaseModel):
    """One reading of a container's statistics from the Docker engine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_percent: float | None = Field(
        default=None, description="CPU since the previous reading (100 = one core)."
    )
    memory_bytes: int | None = None
    memory_limit_bytes: int | None = None
    pids: int | None = None


class ResourceSample(BaseModel):
    """Everything read at one instant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime
    elapsed_seconds: float = Field(ge=0, description="Since the sampler started.")
    host_cpu_percent: float = Field(ge=0, description="Whole machine (100 x cores when full).")
    host_cpus: int = Field(ge=1)
    host_memory_percent: float = Field(ge=0, le=100)
    target: ProcessGroupSample | None = Field(
        default=None, description="The target's process tree, when its pid is known and alive."
    )
    vigil: ProcessGroupSample = Field(description="vigil's own process (the load generator).")
    container: ContainerSample | None = None


class _ProcessTree:
    """A root pid and its descendants, keeping psutil objects so CPU deltas are meaningful."""

    def __init__(self, root_pid: int, *, descendants: bool, socket_interval: float) -> None:
        self._descendants = descendants
        self._socket_interval = socket_interval
        self._sockets: dict[int, tuple[float, int]] = {}
        """Last socket count of each pid, and when it was taken."""
        self._known: dict[int, psutil.Process] = {}
        self._root: psutil.Process | None = None
        with contextlib.suppress(psutil.Error):
            self._root = psutil.Process(root_pid)
            self._root.cpu_percent(None)
            self._known[root_pid] = self._root

    def _members(self) -> list[psutil.Process]:
        if self._root is None:
            return []
        try:
            found = [self._root]
            if self._descendants:
                found += self._root.children(recursive=True)
        except psutil.Error:
            return []
        members = []
        for process in found:
            known = self._known.get(process.pid)
            # psutil's equality compares creation times too, so a reused pid is a new process.
            if known is None or known != process:
                known = self._known[process.pid] = process
                with contextlib.suppress(psutil.Error):
                    known.cpu_percent(None)  # the first call only starts the measurement
            members.append(known)
        alive = {p.pid for p in members}
        for pid in [pid for pid in self._known if pid not in alive]:
            del self._known[pid]
            self._sockets.pop(pid, None)
        return members

    def _socket_count(self, process: psutil.Process) -> int:
        now = time.monotonic()
        taken = self._sockets.get(process.pid)
        if taken is None or now - taken[0] >= self._socket_interval:
            taken = self._sockets[process.pid] = (now, _socket_count(process))
        return taken[1]

    def read(self) -> ProcessGroupSample | None:
        members = self._members()
        if not members:
            return None
        cpu = busiest = 0.0
        rss = threads = fds = sockets = read = 0
        limits: list[int] = []
        for process in members:
            try:
                with process.oneshot():
                    if process.status() == psutil.STATUS_ZOMBIE:
                        continue  # it has ended; only its exit status is left to collect
                    share = process.cpu_percent(None)
                    rss += process.memory_info().rss
                    threads += process.num_threads()
                    fds += process.num_fds()
                    soft, _hard = process.rlimit(psutil.RLIMIT_NOFILE)
                sockets += self._socket_count(process)
            except psutil.Error:  # gone, a zombie, or not ours to read
                continue
            read += 1
            cpu += share
            busiest = max(busiest, share)
            if soft > 0:
                limits.append(soft)
        if read == 0:
            return None
        return ProcessGroupSample(
            processes=read,
            cpu_percent=round(cpu, 1),
            max_process_cpu_percent=round(busiest, 1),
            rss_bytes=rss,
            threads=threads,
            open_files=fds,
            open_files_limit=min(limits) if limits else None,
            sockets=sockets,
        )


def _socket_count(process: psutil.Process) -> int:
    """Sockets among a process's descriptors.

    Read from ``/proc/<pid>/fd`` (a readlink per descriptor, a few ms for thousands): psutil's
    ``net_connections`` parses the machine's whole socket table on every call, about 150 ms
    with 3000 sockets open, which would steal the load generator's CPU under load.
    """
    directory = f"/proc/{process.pid}/fd"
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        if os.path.isdir("/proc"):
            raise psutil.NoSuchProcess(process.pid) from None
        return len(process.net_connections(kind="all"))  # no procfs (macOS): the slow way
    except PermissionError as exc:
        raise psutil.AccessDenied(process.pid) from exc
    count = 0
    for name in names:
        try:
            if os.readlink(f"{directory}/{name}").startswith("socket:"):
                count += 1
        except OSError:
            continue  # closed between the listing and the readlink
    return count


class _ContainerReader:
    """Reads a container's statistics; CPU is computed between two of our own readings."""

    def __init__(self, container_id: str) -> None:
        import docker  # imported here: only docker targets pay for it

        self._client = docker.from_env(timeout=int(DOCKER_TIMEOUT_SECONDS))
        self._container_id = container_id
        self._previous: tuple[int, int] | None = None

    def read(self) -> ContainerSample | None:
        from docker.errors import DockerException

        try:
            stats: dict[str, Any] = self._client.api.stats(
                self._container_id, stream=False, one_shot=True
            )
        except (DockerException, OSError):
            return None
        cpu_stats = stats.get("cpu_stats") or {}
        total = (cpu_stats.get("cpu_usage") or {}).get("total_usage")
        system = cpu_stats.get("system_cpu_usage")
        cpus = cpu_stats.get("online_cpus") or os.cpu_count() or 1
        cpu_percent = None
        if total is not None and system is not None:
            if self._previous is not None:
                d_total, d_system = total - self._previous[0], system - self._previous[1]
                if d_system > 0 and d_total >= 0:
                    cpu_percent = round(d_total / d_system * cpus * 100.0, 1)
            self._previous = (total, system)
        memory = stats.get("memory_stats") or {}
        return ContainerSample(
            cpu_percent=cpu_percent,
            memory_bytes=memory.get("usage"),
            memory_limit_bytes=memory.get("limit"),
            pids=(stats.get("pids_stats") or {}).get("current"),
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()


class ResourceSampler:
    """Samples the target's process tree, vigil's process and the machine in a thread.

    Example::

        with ResourceSampler(target_pid=endpoint.pid) as sampler:
            run_load(...)
        peak = max(s.target.cpu_percent for s in sampler.samples if s.target)

    Args:
        target_pid: Top process of the target (its descendants are included); None when the
            target is not a local process.
        container_id: The target's container, for docker targets.
        config: Interval and the bounds after which the sampler stops by itself.
    """

    def __init__(
        self,
        *,
        target_pid: int | None = None,
        container_id: str | None = None,
        config: ResourceSamplerConfig | None = None,
    ) -> None:
        self.config = config or ResourceSamplerConfig()
        self._target_pid = target_pid
        self._container_id = container_id
        self._samples: list[ResourceSample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.problem: str | None = None
        """Why container statistics could not be read, if they could not."""

    @property
    def samples(self) -> list[ResourceSample]:
        """A copy of the samples taken so far."""
        with self._lock:
            return list(self._samples)

    @property
    def running(self) -> bool:
        """Whether the sampling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> ResourceSampler:
        """Start the sampling thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="vigil-resource-sampler", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> list[ResourceSample]:
        """Stop the thread, wait for it, and return the samples."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        return self.samples

    def __enter__(self) -> ResourceSampler:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        started = time.monotonic()
        every = self.config.socket_interval_seconds
        target = (
            _ProcessTree(self._target_pid, descendants=True, socket_interval=every)
            if self._target_pid is not None
            else None
        )
        own = _ProcessTree(os.getpid(), descendants=False, socket_interval=every)
        container: _ContainerReader | None = None
        if self._container_id is not None:
            try:
                container = _ContainerReader(self._container_id)
            except Exception as exc:  # the docker SDK raises many kinds; sampling goes on
                self.problem = f"cannot read container {self._container_id}: {exc}"
        psutil.cpu_percent(None)
        if container is not None:
            container.read()  # the first reading only sets the CPU baseline
        try:
            while not self._stop.wait(self.config.interval_seconds):
                elapsed = time.monotonic() - started
                sample = self._sample(elapsed, target, own, container)
                with self._lock:
                    self._samples.append(sample)
                    full = len(self._samples) >= self.config.max_samples
                if full or elapsed >= self.config.max_seconds:
                    return
        finally:
            if container is not None:
                container.close()

    @staticmethod
    def _sample(
        elapsed: float,
        target: _ProcessTree | None,
        own: _ProcessTree,
        container: _ContainerReader | None,
    ) -> ResourceSample:
        vigil = own.read()
        return ResourceSample(
            at=utc_now(),
            elapsed_seconds=round(elapsed, 3),
            host_cpu_percent=round(psutil.cpu_percent(None) * (os.cpu_count() or 1), 1),
            host_cpus=os.cpu_count() or 1,
            host_memory_percent=psutil.virtual_memory().percent,
            target=target.read() if target is not None else None,
            vigil=vigil
            or ProcessGroupSample(
                processes=0,
                cpu_percent=0,
                max_process_cpu_percent=0,
                rss_bytes=0,
                threads=0,
                open_files=0,
                sockets=0,
            ),
            container=container.read() if container is not None else None,
        )
