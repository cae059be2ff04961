"""The supervisor: binds the port once, runs the workers, watches them and heals.

Detection and the action taken for each incident kind:

=====================  ================================================  ================
kind                   detected when                                     action
=====================  ================================================  ================
worker_crash           a worker process exited on its own                restart_worker
worker_hang            its heartbeat is older than ``hang_timeout_s``    recycle_worker
memory_growth          its RSS exceeds ``max_worker_rss_mb``             recycle_worker
error_rate_spike       5xx share over ``error_rate_window_s`` too high   recycle_worker
model_regression       a deployed version's accuracy clearly below its   rollback_model
                       parent's
database_unavailable   the database probe fails or a worker buffers      degraded_mode
=====================  ================================================  ================

A ``database_unavailable`` incident recovers once the database answers and every
worker has replayed its local buffer (``evidence.recovery_action`` =
``replay_buffer``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import signal
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import psutil

from reference.incidents import IncidentLog
from reference.settings import MAX_WORKERS, ServiceSettings
from reference.shared_state import ControlField, SharedState, SlotField

logger = logging.getLogger("reference.supervisor")

STARTUP_GRACE_S = 60.0
"""A worker that has not become ready within this long is treated as hung."""
BIND_RETRY_S = 10.0
"""How long to retry a port still held by a killed predecessor's workers."""
STOP_GRACE_S = 4.0
"""How long a worker may take to stop gracefully before it is killed."""


@dataclass
class WorkerHandle:
    """One worker process in one slot."""

    slot: int
    process: multiprocessing.process.BaseProcess
    started_at: float = field(default_factory=time.monotonic)
    samples: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=600))
    recovering: dict[str, Any] | None = None
    retiring: bool = False

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid or 0


class Supervisor:
    """Owns the listening socket and the worker processes of the service."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        # Workers fork from a server that has already imported the app, so a
        # restarted worker serves in well under a second instead of re-importing
        # river and scipy (seconds); the fork happens in a thread-free process.
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["reference.app"])
        # Start it now: it imports the app while we import our own modules.
        multiprocessing.forkserver.ensure_running()
        self.state = SharedState(self.context)
        self.incidents = IncidentLog(settings.data_dir / "incidents.jsonl")
        self.workers: dict[int, WorkerHandle] = {}
        self.stopping = threading.Event()
        self._unmirrored: list[dict[str, Any]] = []
        self._mirror_lock = threading.Lock()
        self._restart_times: dict[int, deque[float]] = {}
        self._left_alone: set[tuple[int, str]] = set()
        self.socket = self._bind()

    def _bind(self) -> socket.socket:
        # Workers of a predecessor that was SIGKILLed notice within a fraction
        # of a second and stop listening; a restart right after the kill waits
        # for them instead of failing with "address in use".
        deadline = time.monotonic() + BIND_RETRY_S
        while True:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.settings.host, self.settings.port))
            except OSError as exc:
                sock.close()
                if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                continue
            sock.listen(2048)
            sock.set_inheritable(True)
            return sock

    @property
    def port(self) -> int:
        """The bound port (useful when 0 was asked for)."""
        return self.socket.getsockname()[1]

    # -- main loop -----------------------------------------------------------

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; returns the exit code."""
        from reference import metrics

        self.metrics = metrics
        settings = self.settings
        self.state.write(ControlField.SUPERVISOR_PID, os.getpid())
        self.state.write(ControlField.DESIRED_WORKERS, settings.workers)
        self.state.write(ControlField.CACHE_SIZE, settings.cache_size)
        self.state.write(ControlField.LEARNING_RATE, settings.learning_rate)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        logger.info(
            "listening on %s://%s:%d with %d worker(s), data in %s",
            "https" if settings.ssl_certfile else "http",
            settings.host,
            self.port,
            settings.workers,
            settings.data_dir.resolve(),
        )
        from reference.database_watch import DatabaseWatch

        watch = DatabaseWatch(self)
        try:
            watch.database.create_schema()
        except Exception as exc:
            # Workers create it themselves once the database answers.
            logger.error("cannot create the schema yet: %s", str(exc).splitlines()[0])
        watch.start()
        try:
            while not self.stopping.is_set():
                self._reconcile()
                self._check_workers()
                metrics.WORKERS_ALIVE.set(sum(w.process.is_alive() for w in self.workers.values()))
                self.stopping.wait(settings.check_interval_s)
        finally:
            logger.info("shutting down %d worker(s)", len(self.workers))
            watch.stop()
            self._stop_all()
            self.socket.close()
        logger.info("stopped")
        return 0

    def _on_signal(self, signum: int, _frame: Any) -> None:
        logger.info("received %s", signal.Signals(signum).name)
        self.stopping.set()

    # -- worker processes ----------------------------------------------------

    def _spawn(self, slot: int) -> WorkerHandle:
        from reference.worker_main import run_worker

        self.state.clear_slot(slot)
        self.state.set(slot, SlotField.HEARTBEAT, time.monotonic())
        process = self.context.Process(
            target=run_worker,
            args=(self.settings, self.state, slot, self.socket),
            name=f"reference-worker-{slot}",
            daemon=False,
        )
        process.start()
        self.state.set(slot, SlotField.PID, process.pid or 0)
        handle = WorkerHandle(slot, process)
        self.workers[slot] = handle
        logger.info("worker %d started as pid %d", slot, process.pid)
        return handle

    def _reconcile(self) -> None:
        desired = max(1, min(MAX_WORKERS, int(self.state.read(ControlField.DESIRED_WORKERS))))
        for slot in range(desired):
            if slot not in self.workers:
                self._spawn(slot)
        for slot in sorted(self.workers):
            if slot >= desired:
                handle = self.workers.pop(slot)
                logger.info("scaling down: stopping worker %d (pid %d)", slot, handle.pid)
                self._terminate(handle, graceful=True)
                self.state.clear_slot(slot)

    def _check_workers(self) -> None:
        now = time.monotonic()
        for slot, handle in list(self.workers.items()):
            if self.stopping.is_set():
                return
            process = handle.process
            if not process.is_alive():
                code = process.exitcode
                evidence = {"slot": slot, "pid": handle.pid, "exit_code": code}
                if code is not None and code < 0:
                    evidence["signal"] = signal.Signals(-code).name
                self._heal(handle, "worker_crash", "restart_worker", evidence, kill=False)
                continue
            ready = self.state.get(slot, SlotField.READY) > 0
            beat_age = now - self.state.get(slot, SlotField.HEARTBEAT)
            if handle.recovering and ready and beat_age < self.settings.hang_timeout_s:
                self._close(handle.recovering, new_pid=handle.pid, slot=slot)
                handle.recovering = None
            if (ready and beat_age > self.settings.hang_timeout_s) or (
                not ready and now - handle.started_at > STARTUP_GRACE_S
            ):
                evidence = {
                    "slot": slot,
                    "pid": handle.pid,
                    "heartbeat_age_s": round(beat_age, 3),
                    "bound_s": self.settings.hang_timeout_s,
                    "process_status": _process_status(handle.pid),
                }
                self._heal(handle, "worker_hang", "recycle_worker", evidence, kill=True)
                continue
            rss_mb = _rss_mb(handle.pid)
            if rss_mb is not None and rss_mb > self.settings.max_worker_rss_mb:
                evidence = {
                    "slot": slot,
                    "pid": handle.pid,
                    "rss_mb": round(rss_mb, 1),
                    "bound_mb": self.settings.max_worker_rss_mb,
                }
                self._heal(handle, "memory_growth", "recycle_worker", evidence, kill=False)
                continue
            spike = self._error_spike(handle, now)
            if spike is not None:
                self._heal(handle, "error_rate_spike", "recycle_worker", spike, kill=False)

    def _error_spike(self, handle: WorkerHandle, now: float) -> dict[str, Any] | None:
        slot = handle.slot
        requests = self.state.get(slot, SlotField.REQUESTS)
        errors = self.state.get(slot, SlotField.ERRORS_5XX)
        handle.samples.append((now, requests, errors))
        window = self.settings.error_rate_window_s
        while handle.samples and now - handle.samples[0][0] > window:
            handle.samples.popleft()
        first = handle.samples[0]
        served = requests - first[1]
        failed = errors - first[2]
        if served < self.settings.error_rate_min_requests:
            return None
        rate = failed / served
        if rate <= self.settings.error_rate_threshold:
            return None
        return {
            "slot": slot,
            "pid": handle.pid,
            "error_rate": round(rate, 4),
            "requests": int(served),
            "errors_5xx": int(failed),
            "window_s": window,
            "threshold": self.settings.error_rate_threshold,
        }

    def _heal(
        self,
        handle: WorkerHandle,
        kind: str,
        action: str,
        evidence: dict[str, Any],
        *,
        kill: bool,
    ) -> None:
        """Record the incident, replace the worker, and close the incident once it is ready."""
        if not self.settings.self_healing_enabled:
            # Switched off on purpose: the broken worker stays as it is, so a validator
            # can show that it judges a service that never heals as failed.
            if (handle.pid, kind) not in self._left_alone:
                self._left_alone.add((handle.pid, kind))
                logger.warning(
                    "%s in worker %d: %s; self-healing is disabled, nothing done",
                    kind,
                    handle.slot,
                    evidence,
                )
            return
        logger.warning("%s in worker %d: %s -> %s", kind, handle.slot, evidence, action)
        incident = self.record(kind, action, evidence)
        self._terminate(handle, graceful=not kill)
        self._throttle_restarts(handle.slot)
        if self.stopping.is_set():
            return
        replacement = self._spawn(handle.slot)
        replacement.recovering = incident
        self.state.write(ControlField.RESTARTS, self.state.read(ControlField.RESTARTS) + 1)
        self.metrics.WORKER_RESTARTS.labels(reason=kind).inc()

    def _throttle_restarts(self, slot: int) -> None:
        # A worker that keeps dying right away must not turn into a fork bomb.
        times = self._restart_times.setdefault(slot, deque(maxlen=5))
        now = time.monotonic()
        times.append(now)
        if len(times) == times.maxlen and now - times[0] < 10:
            logger.error("worker %d restarted 5 times in 10 s; backing off 5 s", slot)
            self.stopping.wait(5)

    def _terminate(self, handle: WorkerHandle, *, graceful: bool) -> None:
        process = handle.process
        if process.is_alive():
            try:
                if graceful:
                    os.kill(handle.pid, signal.SIGTERM)
                    process.join(STOP_GRACE_S)
                if process.is_alive():
                    os.kill(handle.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.join(STOP_GRACE_S)
        self.metrics.forget_process(handle.pid)

    def _stop_all(self) -> None:
        handles = list(self.workers.values())
        for handle in handles:
            if handle.process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(handle.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for handle in handles:
            handle.process.join(max(0.0, deadline - time.monotonic()))
        for handle in handles:
            if handle.process.is_alive():
                logger.warning("worker pid %d did not stop in time; killing it", handle.pid)
                os.kill(handle.pid, signal.SIGKILL)
                handle.process.join(2)
        self.workers.clear()
        # The fork server would exit on its own once we are gone; stopping it
        # here makes the whole tree end before we do.
        server = getattr(multiprocessing.forkserver, "_forkserver", None)
        stop = getattr(server, "_stop", None)
        if stop is not None:
            stop()

    # -- incidents -----------------------------------------------------------

    def record(self, kind: str, action: str, evidence: dict[str, Any]) -> dict[str, Any]:
        """Open an incident in the log (and, when reachable, the database mirror)."""
        incident = self.incidents.open_incident(kind, action, evidence)
        self.metrics.INCIDENTS.labels(kind=kind).inc()
        with self._mirror_lock:
            self._unmirrored.append(incident)
        return incident

    def _close(self, incident: dict[str, Any], **evidence: Any) -> dict[str, Any]:
        closed = self.incidents.close_incident(incident, **evidence)
        logger.info("incident %s (%s) recovered", closed["id"], closed["kind"])
        with self._mirror_lock:
            self._unmirrored.append(closed)
        return closed

    def close_incident(self, incident: dict[str, Any], **evidence: Any) -> dict[str, Any]:
        """Mark an incident recovered (used by the database watch)."""
        return self._close(incident, **evidence)

    def take_unmirrored(self) -> list[dict[str, Any]]:
        """Incident states not yet copied to the database."""
        with self._mirror_lock:
            taken, self._unmirrored = self._unmirrored, []
        return taken

    def requeue_unmirrored(self, incidents: list[dict[str, Any]]) -> None:
        """Put back states the database did not take."""
        with self._mirror_lock:
            self._unmirrored = incidents + self._unmirrored


def _rss_mb(pid: int) -> float | None:
    try:
        return psutil.Process(pid).memory_info().rss / 1_048_576
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _process_status(pid: int) -> str:
    try:
        return psutil.Process(pid).status()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "gone"


def prepare_data_dir(settings: ServiceSettings) -> None:
    """Create the data directory and a clean prometheus multiprocess directory."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ignore = settings.data_dir / ".gitignore"
    if not ignore.exists():
        # Run state, never source: keep it out of whatever repository it sits in.
        ignore.write_text("*\n")
    prom_dir = settings.data_dir.resolve() / "prometheus"
    shutil.rmtree(prom_dir, ignore_errors=True)
    prom_dir.mkdir()
    # Must be set before prometheus_client is imported anywhere; workers inherit it.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prom_dir)
