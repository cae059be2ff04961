"""One worker process's runtime: the serving model, its learning loop, its writer.

A worker serves HTTP on the socket its supervisor bound, keeps the active model
version in memory, learns from the durable feedback log in id order (so every
worker converges on the same model), and beats a heartbeat into shared memory.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import os
import signal
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psutil

from reference import metrics
from reference.incidents import IncidentLog
from reference.learner import OnlineLearner
from reference.scoring import log_loss
from reference.settings import ServiceSettings
from reference.shared_state import ControlField, SharedState, SlotField
from reference.storage import Database, ModelVersion, utc_now
from reference.writer import (
    UNAVAILABLE_ERRORS,
    GroupCommitWriter,
    LocalBuffer,
    replay_orphaned_buffers,
)

logger = logging.getLogger("reference.worker")

HEARTBEAT_INTERVAL_S = 0.1
DB_CALL_TIMEOUT_S = 10.0
"""Bound on one database call made for a request or the learning loop."""
LOOP_STALL_LIMIT_S = 30.0
"""An event loop that has not run its tick task for this long counts as hung."""
LEARN_INTERVAL_S = 0.1
LEARN_BATCH = 1000
ACCURACY_WINDOW = 1000


def _supervisor_process(pid: int) -> psutil.Process | None:
    # Workers are children of the fork server, which outlives a killed
    # supervisor while they run, so the parent pid cannot tell; the supervisor's
    # own process (pid plus start time, safe from pid reuse) can.
    try:
        return psutil.Process(pid) if pid > 0 else None
    except psutil.NoSuchProcess:
        return None


def _alive(process: psutil.Process | None) -> bool:
    if process is None:
        return True
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class FeedbackOutcome:
    """Possible outcomes of a feedback submission."""

    ACCEPTED = "accepted"
    UNKNOWN = "unknown"
    DUPLICATE = "duplicate"


class ModelNotReadyError(RuntimeError):
    """No model is loaded yet (the database has not been reachable since start)."""


class WorkerRuntime:
    """Everything one worker process serves from: model, cache, writer, database."""

    def __init__(self, settings: ServiceSettings, state: SharedState, slot: int) -> None:
        self.settings = settings
        self.state = state
        self.slot = slot
        self.is_primary = slot == 0
        self.database = Database(settings.resolved_database_url)
        self.buffer_dir = settings.data_dir / "buffers"
        self.buffer = LocalBuffer(self.buffer_dir / f"worker-{slot}.jsonl")
        self.writer = GroupCommitWriter(self.database, self.buffer, state, slot)
        self.incidents = IncidentLog(settings.data_dir / "incidents.jsonl")
        self.learner: OnlineLearner | None = None
        self._active_marker: tuple[str, Any] | None = None
        self._checkpointed_at = 0
        # Model-update latency is observed once per feedback (by the primary), and only for
        # feedback accepted while this process ran: replays after a restart or a reload would
        # count old labels again, or time a label by how long the worker was away.
        self._observed_feedback_id = 0
        self._started_at = utc_now()
        self._config_generation = -1.0
        self._recent_correct: deque[int] = deque(maxlen=ACCURACY_WINDOW)
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._tasks: list[asyncio.Task] = []
        self._stopped = threading.Event()
        self._loop_tick = time.monotonic()
        self.fault_error_rate = 0.0
        self.fault_error_until = 0.0
        self.memory_ballast: list[bytearray] = []
        self._fault_counter = 0
        # A random per-process prefix plus a counter: unique across workers and
        # restarts without paying for os.urandom on every prediction.
        self._id_prefix = os.urandom(8).hex()
        self._id_counter = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Start the writer, the heartbeat and the learning loop; load the model if possible."""
        self.writer.start()
        self._loop_tick = time.monotonic()
        self._tasks = [asyncio.create_task(self._heartbeat_loop(), name="heartbeat")]
        threading.Thread(target=self._heartbeat_thread, name="heartbeat", daemon=True).start()
        try:
            await asyncio.to_thread(self.database.create_schema)
            await asyncio.to_thread(
                replay_orphaned_buffers, self.database, self.buffer_dir, self.buffer.path
            )
            await self._sync_model()
        except UNAVAILABLE_ERRORS as exc:
            logger.error("database unavailable at start, will retry: %s", exc)
        self._tasks.append(asyncio.create_task(self._learn_loop(), name="learn"))
        self.state.set(self.slot, SlotField.READY, 1.0)

    async def stop(self) -> None:
        """Stop background work and flush queued writes."""
        self.state.set(self.slot, SlotField.READY, 0.0)
        self._stopped.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.is_primary and self.learner is not None:
            try:
                await asyncio.to_thread(self._checkpoint)
            except Exception as exc:
                logger.warning("final checkpoint skipped: %s", exc)
        await asyncio.to_thread(self.writer.stop)
        self.buffer.close()
        self.database.dispose()

    async def _heartbeat_loop(self) -> None:
        """Mark the event loop as alive; the heartbeat thread reports it."""
        supervisor = _supervisor_process(int(self.state.read(ControlField.SUPERVISOR_PID)))
        ticks = 0
        while True:
            self._loop_tick = time.monotonic()
            metrics.FEEDBACK_BACKLOG.set(self.writer.backlog)
            ticks += 1
            if ticks % 5 == 0 and not _alive(supervisor):
                # The supervisor was killed without stopping us: never outlive it,
                # or the port stays taken and a restarted service cannot bind it.
                logger.error("supervisor is gone, worker exiting")
                os.kill(os.getpid(), signal.SIGTERM)
                return
            await asyncio.sleep(HEARTBEAT_INTERVAL_S)

    def _heartbeat_thread(self) -> None:
        # Beating from a thread keeps an overloaded but working event loop (whose
        # timers fire late) from being taken for a hung one; a stopped process
        # beats no more, and a loop stalled past LOOP_STALL_LIMIT_S stops the
        # beat too, so real hangs are still caught.
        while not self._stopped.wait(HEARTBEAT_INTERVAL_S):
            now = time.monotonic()
            if now - self._loop_tick < LOOP_STALL_LIMIT_S:
                self.state.set(self.slot, SlotField.HEARTBEAT, now)

    async def db(
        self, call: Callable[..., Any], *args: Any, timeout_s: float = DB_CALL_TIMEOUT_S
    ) -> Any:
        """Run a database call off the event loop, bounded in time.

        A frozen database server never errors, it just never answers; the
        bound turns that into a TimeoutError, one of UNAVAILABLE_ERRORS.
        """
        return await asyncio.wait_for(asyncio.to_thread(call, *args), timeout_s)

    # -- serving -----------------------------------------------------------

    @property
    def model_version(self) -> str | None:
        """The version this worker serves."""
        return self.learner.version if self.learner else None

    @property
    def database_degraded(self) -> bool:
        """Whether feedback currently goes to the local buffer."""
        return self.writer.status.degraded or self.state.read(ControlField.DB_DOWN) > 0

    def should_inject_error(self) -> bool:
        """Test hook: whether this /predict call must fail (deterministic fraction)."""
        if self.fault_error_rate <= 0 or time.monotonic() > self.fault_error_until:
            return False
        self._fault_counter += 1
        return (self._fault_counter * self.fault_error_rate) % 1.0 < self.fault_error_rate

    async def predict(self, features: dict[str, Any]) -> dict[str, Any]:
        """Score features, store the prediction durably-enough, return the response body."""
        learner = self.learner
        if learner is None:
            raise ModelNotReadyError("no model is loaded yet: the database was never reachable")
        score = learner.score(features)
        row = {
            "request_id": f"{self._id_prefix}{next(self._id_counter):x}",
            "features": json.dumps(features),
            "score": score,
            "prediction": int(score >= 0.5),
            "model_version": learner.version,
            "created_at": utc_now(),
        }
        self._remember(row)
        # Committed before we answer, so feedback to any worker finds it.
        await self.writer.write_prediction(row)
        metrics.PREDICTIONS.inc()
        return {
            "request_id": row["request_id"],
            "prediction": row["prediction"],
            "score": score,
            "model_version": row["model_version"],
        }

    async def feedback(self, request_id: str, label: int) -> str:
        """Record a label durably; returns a :class:`FeedbackOutcome` value."""
        prediction = self._cache.get(request_id)
        if prediction is None and self.database_degraded and not self.database.is_sqlite:
            # A server that is down cannot be asked (and a connect timeout per
            # request would stall feedback): buffer it and let the replay resolve
            # it. SQLite still answers reads while its write lock is held.
            prediction = {}
        if prediction is None:
            try:
                prediction = await self.db(self.database.find_prediction, request_id)
            except UNAVAILABLE_ERRORS:
                prediction = {}
            if prediction is None:
                return FeedbackOutcome.UNKNOWN
        row: dict[str, Any] = {"request_id": request_id, "label": label, "recorded_at": utc_now()}
        if prediction:
            row.update(
                score=prediction["score"],
                prediction=prediction["prediction"],
                model_version=prediction["model_version"],
                correct=int(prediction["prediction"] == label),
                log_loss=log_loss(prediction["score"], label),
            )
        accepted = await self.writer.write_feedback(row)
        if not accepted:
            return FeedbackOutcome.DUPLICATE
        metrics.FEEDBACK.labels(mode="degraded" if self.database_degraded else "direct").inc()
        return FeedbackOutcome.ACCEPTED

    def _remember(self, row: dict[str, Any]) -> None:
        capacity = int(self.state.read(ControlField.CACHE_SIZE))
        if capacity <= 0:
            return
        self._cache[row["request_id"]] = row
        while len(self._cache) > capacity:
            self._cache.popitem(last=False)

    # -- learning ----------------------------------------------------------

    async def _learn_loop(self) -> None:
        while True:
            await asyncio.sleep(LEARN_INTERVAL_S)
            try:
                await self._sync_model()
            except UNAVAILABLE_ERRORS as exc:
                logger.debug("learning paused, database unavailable: %s", exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("learning step failed")

    async def _sync_model(self) -> None:
        """Follow the active version and learn every feedback row not yet learned."""
        found = await self.db(self.database.active_version)
        if found is None:
            found = await self.db(self._create_initial_version)
        active, changed_at = found
        marker = (active.name, changed_at)
        if self.learner is None or marker != self._active_marker:
            await self._load(active, marker)
        self._apply_config()
        learner = self.learner
        rows = await self.db(self.database.feedback_after, learner.applied_feedback_id, LEARN_BATCH)
        learning = self.settings.learning_enabled
        for index, (feedback_id, label, correct, features, recorded_at) in enumerate(rows):
            self._recent_correct.append(correct)
            if not learning:
                # Switched off on purpose: the label is stored and scored, the model stays frozen.
                learner.skip(feedback_id)
                continue
            drifted = learner.learn(json.loads(features), label, feedback_id)
            self._observe_model_update(feedback_id, recorded_at)
            if drifted and self.is_primary:
                await asyncio.to_thread(self._reset_for_drift)
                learner = self.learner
            if index % 200 == 199:
                await asyncio.sleep(0)
        if rows:
            metrics.MODEL_ACCURACY.set(sum(self._recent_correct) / len(self._recent_correct))
        if (
            self.is_primary
            and learner.applied_feedback_id - self._checkpointed_at
            >= self.settings.checkpoint_every
        ):
            await asyncio.to_thread(self._checkpoint)

    def _observe_model_update(self, feedback_id: int, recorded_at: datetime) -> None:
        if not self.is_primary or feedback_id <= self._observed_feedback_id:
            return
        self._observed_feedback_id = feedback_id
        if recorded_at.tzinfo is None:  # SQLite hands back naive datetimes, stored as UTC
            recorded_at = recorded_at.replace(tzinfo=UTC)
        if recorded_at >= self._started_at:
            metrics.MODEL_UPDATE.observe(max(0.0, (utc_now() - recorded_at).total_seconds()))

    def _apply_config(self) -> None:
        generation = self.state.read(ControlField.CONFIG_GENERATION)
        if generation != self._config_generation and self.learner is not None:
            self._config_generation = generation
            rate = self.state.read(ControlField.LEARNING_RATE)
            if generation > 0 and rate > 0 and not math.isclose(rate, self.learner.learning_rate):
                self.learner.set_learning_rate(rate)

    def _create_initial_version(self) -> tuple[ModelVersion, datetime]:
        rate = self.settings.learning_rate
        try:
            self.database.create_version(
                parent=None,
                reason="initial",
                learning_rate=rate,
                corrupt=False,
                name="v1",
                state_for=lambda name: (OnlineLearner(name, rate).dumps(), 0),
            )
        except Exception as exc:
            # Another worker created it first; fine as long as it exists now.
            logger.debug("initial version creation lost a race: %s", exc)
        active = self.database.active_version()
        if active is None:
            raise RuntimeError("no active model version after creating v1")
        return active

    async def _load(self, active: ModelVersion, marker: tuple[str, datetime]) -> None:
        state = await self.db(self.database.latest_checkpoint, active.name)
        if state is None:
            raise RuntimeError(f"model version {active.name} has no checkpoint")
        learner = OnlineLearner.loads(state)
        learner.version = active.name
        self.learner = learner
        self._checkpointed_at = learner.applied_feedback_id
        self._active_marker = marker
        self._cache.clear()
        logger.info(
            "serving model %s (learned up to feedback %d)", active.name, learner.applied_feedback_id
        )

    def _checkpoint(self) -> None:
        learner = self.learner
        self.database.save_checkpoint(learner.version, learner.applied_feedback_id, learner.dumps())
        self._checkpointed_at = learner.applied_feedback_id

    def _reset_for_drift(self) -> None:
        old = self.learner
        fresh = old.derive(old.version, None, old.corrupt)
        fresh.reset(old.version)

        def state_for(name: str) -> tuple[bytes, int]:
            fresh.version = name
            return fresh.dumps(), fresh.applied_feedback_id

        name = self.database.create_version(
            parent=old.version,
            reason="drift",
            learning_rate=fresh.learning_rate,
            corrupt=fresh.corrupt,
            state_for=state_for,
        )
        logger.warning("concept drift detected: model reset as %s (was %s)", name, old.version)
        self.learner = fresh
        active, changed_at = self.database.active_version()
        self._active_marker = (active.name, changed_at)
        self._checkpointed_at = fresh.applied_feedback_id

    # -- administration ----------------------------------------------------

    def deploy(self, version: str | None, learning_rate: float | None, corrupt: bool) -> str:
        """Create and activate a version derived from the serving one (runs in a thread)."""
        current = self.learner
        if current is None:
            raise ModelNotReadyError("no model is loaded yet")
        derived: list[OnlineLearner] = []

        def state_for(name: str) -> tuple[bytes, int]:
            derived[:] = [current.derive(name, learning_rate, corrupt)]
            return derived[0].dumps(), derived[0].applied_feedback_id

        name = self.database.create_version(
            parent=current.version,
            reason="deploy",
            learning_rate=learning_rate or current.learning_rate,
            corrupt=corrupt,
            state_for=state_for,
            name=version,
        )
        return name
