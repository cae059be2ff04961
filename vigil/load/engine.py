"""The load engine: virtual users (closed model) or arrivals (open model) on uvloop.

Requests travel over vigil's own HTTP/1.1 client (:mod:`vigil.load.connection`): an asyncio
protocol per keep-alive connection, responses parsed by ``httptools``, one pool per run bounded
by ``connection_limit`` (one connection per user by default, reused last-in first-out so each
user keeps its warm connection). Latencies go into HDR histograms at microsecond resolution
(see :mod:`vigil.load.statistics`).

Where latency is measured from and to:

* **To** the moment the last byte of the answer was parsed, read with
  ``time.perf_counter_ns()`` inside the parser's ``on_message_complete`` callback -- not when
  the waiting coroutine resumes, so the generator's own scheduling delays stay out of it.
  (uvloop's ``loop.time()`` counts in whole milliseconds, which is why it is not used.)
* **Open model** -- from the *intended* send time: the first request of an iteration from its
  scheduled arrival, a later one from the planned end of the think time before it. When the
  target stalls and every slot (``users``) is busy, due arrivals wait in a bounded backlog and
  the wait shows in their latency instead of silently thinning the traffic (coordinated
  omission); they are counted as ``late_sends``, and those that could not even wait (backlog
  full) or were still waiting at the end as ``dropped_sends``. Arrivals are released by a
  timer of about a millisecond's resolution, so at most that much scheduling lag can be part
  of an open-model latency.
* **Closed model** -- from the actual send time (taken before a connection is picked). A
  virtual user waits for its answer before it thinks and sends again, so a slow target
  receives fewer requests; that is the model's nature (it is how a fixed population of users
  behaves), not an error of measurement.

Every run ends by itself: at ``duration_seconds``, after ``max_requests`` requests, when the
scenario's rows run out, or within a fraction of a second of its stop signal being set.
Requests in flight at the stop get ``stop_grace_seconds`` to finish; the rest are cancelled and
counted as cancelled. The pool, its sockets and every task are closed before returning.

Time series are kept per step and overall, one bucket per ``series_bucket_seconds`` (see
:attr:`LoadProfileConfig.series_bucket_seconds`: widened for long runs so a series never holds
more than ``max_series_buckets`` buckets).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import uvloop
from hdrh.histogram import HdrHistogram

from vigil.errors import RunError
from vigil.load.arrivals import ArrivalSchedule
from vigil.load.config import LoadModel, LoadProfileConfig, check_target_allowed
from vigil.load.connection import ConnectionPool, Origin, ResponseError, encode_request
from vigil.load.scenario import Iteration, Scenario, Step
from vigil.load.statistics import (
    HIGHEST_US,
    LOWEST_US,
    OVERALL,
    ErrorKind,
    LoadProgress,
    LoadResult,
    RequestRecorder,
    StopReason,
    TimeBucket,
    bucket_of,
    new_histogram,
    record_us,
)
from vigil.results import utc_now

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.05
"""How often the run checks its stop signal and its end; bounds the reaction to a stop."""
_now_ns = time.perf_counter_ns


class StopSignal(Protocol):
    """Anything with ``is_set()``: a threading, multiprocessing or asyncio event."""

    def is_set(self) -> bool: ...


ProgressCallback = Callable[[LoadProgress], None]


@dataclass(slots=True)
class _Bucket:
    histogram: HdrHistogram
    errors: int = 0


@dataclass(slots=True)
class _StepState:
    """One step's request bytes (when fixed) and its statistics."""

    step: Step
    recorder: RequestRecorder
    fixed_request: bytes | None
    keep_body: bool
    buckets: dict[int, _Bucket] = field(default_factory=dict)
    series: list[TimeBucket] = field(default_factory=list)


class _LoadRun:
    """The state of one run; lives on one event loop, so no locking is needed."""

    def __init__(
        self,
        base_url: str,
        profile: LoadProfileConfig,
        scenario: Scenario,
        stop_signal: StopSignal | None,
        progress: ProgressCallback | None,
    ) -> None:
        self._profile = profile
        self._scenario = scenario
        self._stop_signal = stop_signal
        self._progress = progress
        self._origin = Origin.of(base_url)
        self._prefix = urlsplit(base_url).path.rstrip("/")
        self._close_each = profile.keepalive_seconds == 0
        self._steps = [self._step_state(step) for step in scenario.steps]
        self._rng = random.Random(profile.seed)
        self._width = profile.series_bucket_seconds
        self._width_ns = int(self._width * 1e9)
        self._series: list[TimeBucket] = []
        self._next_bucket = 0
        self._interval_histogram = new_histogram() if progress is not None else None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._pool = ConnectionPool(
            self._origin,
            profile.connection_limit or profile.users,
            profile.connect_timeout_seconds,
            profile.keepalive_seconds,
        )
        self._timeout_ns = int(profile.request_timeout_seconds * 1e9)
        self._t0 = 0
        self._measure_from = 0
        self._stopping = False
        self._end_reason: StopReason | None = None
        self._failure: BaseException | None = None
        self._issued = 0
        self._in_flight = 0
        self._cancelled = 0
        self._active = 0
        self._completed = 0
        self._errors = 0
        self._free_slots = profile.users
        self._backlog: deque[tuple[int, int]] = deque()
        self._late = 0
        self._dropped = 0
        self._unsent = 0
        """Open model: arrivals handed a slot whose first request has not been issued yet."""
        self._schedule: ArrivalSchedule | None = None
        self._next_arrival = 0

    def _step_state(self, step: Step) -> _StepState:
        fixed = None
        if step.json_body is None:
            fixed = encode_request(
                step.method, self._prefix + step.path, self._origin, None, close=self._close_each
            )
        return _StepState(
            step=step,
            recorder=RequestRecorder(step.name),
            fixed_request=fixed,
            keep_body=step.extract is not None,
        )

    async def run(self) -> LoadResult:
        profile = self._profile
        loop = self._loop
        started_at = utc_now()
        self._t0 = _now_ns()
        self._measure_from = self._t0 + int(profile.warmup_seconds * 1e9)
        deadline = self._t0 + int(profile.duration_seconds * 1e9)
        driver = loop.create_task(
            self._arrivals() if profile.model is LoadModel.OPEN else self._spawn_users()
        )
        ticker = loop.create_task(self._tick())
        try:
            reason = await self._wait_for_end(driver, deadline)
            self._stopping = True
            stopped = _now_ns()
            await self._drain(profile.stop_grace_seconds)
        finally:
            self._stopping = True
            await self._cancel([driver, ticker, *self._tasks])
            self._pool.close()
            # Closed transports release their sockets on the next turns of the loop.
            for _ in range(3):
                await asyncio.sleep(0)
        if self._failure is not None:
            raise RunError(
                f"scenario {self._scenario.name!r} raised while building or reading a request: "
                f"{self._failure!r}; fix the scenario's json_body/extract callables"
            ) from self._failure
        # Due but never sent: waiting in the backlog, released too late to send before the
        # stop (or cancelled before their first request), or not yet released at all.
        self._dropped += len(self._backlog) + self._unsent
        self._dropped += self._missed_arrivals(stopped, reason)
        self._backlog.clear()
        self._close_buckets(final=_now_ns())
        measured = max(0.0, (stopped - self._measure_from) / 1e9)
        requests = {s.step.name: s.recorder.stats(measured) for s in self._steps}
        overall = RequestRecorder(OVERALL)
        for state in self._steps:
            overall.absorb(state.recorder)
        return LoadResult(
            scenario=self._scenario.name,
            model=profile.model,
            users=profile.users,
            started_at=started_at,
            finished_at=utc_now(),
            measured_seconds=round(measured, 3),
            stop_reason=reason,
            overall=overall.stats(measured),
            requests=requests,
            cancelled=self._cancelled,
            late_sends=self._late,
            dropped_sends=self._dropped,
            bucket_seconds=self._width,
            series=self._series,
            step_series={s.step.name: s.series for s in self._steps},
        )

    async def _wait_for_end(self, driver: asyncio.Task[None], deadline: int) -> StopReason:
        while True:
            if self._failure is not None:
                return StopReason.STOP_REQUESTED
            if self._stop_signal is not None and self._stop_signal.is_set():
                return StopReason.STOP_REQUESTED
            now = _now_ns()
            if now >= deadline:
                return StopReason.DURATION
            if driver.done():
                driver.result()  # re-raise a failure of the spawner itself
                if not self._tasks:
                    return self._end_reason or StopReason.DURATION
            await asyncio.sleep(min(_POLL_SECONDS, (deadline - now) / 1e9))

    async def _drain(self, grace_seconds: float) -> None:
        """Let requests in flight finish for up to `grace_seconds`."""
        until = _now_ns() + int(grace_seconds * 1e9)
        while self._in_flight and _now_ns() < until:
            await asyncio.sleep(min(_POLL_SECONDS, (until - _now_ns()) / 1e9))

    @staticmethod
    async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, body: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(body)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and self._failure is None:
            # A scenario bug (json_body or extract raised): remember it and end the run.
            self._failure = exc

    # -- traffic ---------------------------------------------------------------------------

    async def _spawn_users(self) -> None:
        profile = self._profile
        ramp_ns = profile.ramp_time_seconds * 1e9
        for user in range(profile.users):
            if ramp_ns > 0 and profile.users > 1:
                delay = self._t0 + ramp_ns * user / (profile.users - 1) - _now_ns()
                if delay > 0:
                    await asyncio.sleep(delay / 1e9)
            if self._stopping or self._end_reason is not None:
                return
            self._start(self._user(user))

    async def _user(self, user: int) -> None:
        self._active += 1
        try:
            while not self._stopping:
                iteration = self._new_iteration(user)
                if iteration is None:
                    return
                for state in self._steps:
                    outcome = await self._send(state, iteration, _now_ns())
                    if outcome is None:
                        return
                    if state.step.think_after:
                        await asyncio.sleep(self._think_seconds())
                    if not outcome:
                        break
        finally:
            self._active -= 1

    async def _arrivals(self) -> None:
        profile = self._profile
        schedule = self._schedule = ArrivalSchedule.of(profile)
        # Every arrival sends at least one request, so none beyond the budget is ever due.
        last = min(schedule.total_arrivals, profile.max_requests)
        arrival = 0
        while arrival < last and not self._stopping and self._end_reason is None:
            self._next_arrival = arrival
            due = schedule.due_seconds(arrival)
            if due is None:
                return
            intended = self._t0 + int(due * 1e9)
            delay = intended - _now_ns()
            if delay > 0:
                await asyncio.sleep(delay / 1e9)
                continue
            if self._free_slots > 0:
                self._free_slots -= 1
                self._release(arrival, intended)
            elif len(self._backlog) < profile.max_backlog:
                # Its intended time stays as scheduled, so the wait is part of its latency.
                self._backlog.append((arrival, intended))
            else:
                self._dropped += 1
            arrival += 1
        self._next_arrival = arrival
        if arrival >= profile.max_requests and self._end_reason is None:
            self._end_reason = StopReason.MAX_REQUESTS

    def _missed_arrivals(self, stopped: int, reason: StopReason) -> int:
        """Arrivals due before the stop that the arrival loop had not yet released."""
        schedule = self._schedule
        if schedule is None or reason is not StopReason.DURATION:
            return 0
        last = min(schedule.total_arrivals, self._profile.max_requests)
        missed = 0
        arrival = self._next_arrival
        while arrival < last:
            due = schedule.due_seconds(arrival)
            if due is None or self._t0 + int(due * 1e9) >= stopped:
                break
            missed += 1
            arrival += 1
        return missed

    def _free_slot(self) -> None:
        """An iteration ended: hand its slot to the oldest waiting arrival, or free it."""
        if (
            self._backlog
            and not self._stopping
            and self._end_reason is not StopReason.ROWS_EXHAUSTED
        ):
            arrival, intended = self._backlog.popleft()
            self._release(arrival, intended, late=True)
        else:
            self._free_slots += 1

    def _release(self, arrival: int, intended: int, *, late: bool = False) -> None:
        """Start an arrival's iteration; it stays unsent until its first request is issued."""
        self._unsent += 1
        self._start(self._iteration(arrival, intended, late))

    async def _iteration(self, arrival: int, intended: int, late: bool) -> None:
        self._active += 1
        try:
            iteration = self._new_iteration(arrival)
            if iteration is None:
                self._unsent -= 1  # no row left: nothing was due to be sent
                return
            for index, state in enumerate(self._steps):
                outcome = await self._send(state, iteration, intended, first=index == 0, late=late)
                if outcome is None:
                    return
                if state.step.think_after:
                    pause = self._think_seconds()
                    intended = _now_ns() + int(pause * 1e9)
                    await asyncio.sleep(pause)
                else:
                    intended = _now_ns()
                if not outcome:
                    break
        finally:
            self._active -= 1
            self._free_slot()

    def _new_iteration(self, user: int) -> Iteration | None:
        next_row = self._scenario.next_row
        if next_row is None:
            return Iteration(user=user)
        if self._end_reason is StopReason.ROWS_EXHAUSTED:
            return None
        try:
            row = next_row()
        except StopIteration:
            self._end_reason = StopReason.ROWS_EXHAUSTED
            return None
        return Iteration(user=user, row=row)

    def _think_seconds(self) -> float:
        return self._rng.uniform(self._profile.think_min_seconds, self._profile.think_max_seconds)

    async def _send(
        self,
        state: _StepState,
        iteration: Iteration,
        intended: int,
        *,
        first: bool = False,
        late: bool = False,
    ) -> bool | None:
        """Send one request; True when it succeeded, False when it failed, None when not sent.

        `first` marks an open-model arrival's first request, which settles whether the arrival
        was sent at all (see ``_unsent``) and, when it waited for a slot (`late`), counts it
        as a late send.
        """
        # Running out of rows stops new iterations only; ones under way still finish.
        if self._stopping:
            return None
        if self._issued >= self._profile.max_requests:
            self._end_reason = StopReason.MAX_REQUESTS
            if first and self._unsent:
                self._unsent -= 1  # beyond the request budget: not due, so not dropped
            return None
        if first and self._unsent:
            self._unsent -= 1
            if late:
                self._late += 1
        step = state.step
        data = state.fixed_request
        if data is None:
            assert step.json_body is not None
            body = json.dumps(step.json_body(iteration), separators=(",", ":")).encode()
            data = encode_request(
                step.method, self._prefix + step.path, self._origin, body, close=self._close_each
            )
        self._issued += 1
        self._in_flight += 1
        started = _now_ns()
        completed = 0
        status: int | None = None
        error: ErrorKind | None = None
        pool = self._pool
        try:
            connection = pool.take()
            if connection is None:
                connection = await pool.acquire(self._timeout_ns / 1e9)
            try:
                remaining = (self._timeout_ns - (_now_ns() - started)) / 1e9
                await connection.request(data, max(remaining, 1e-3), keep_body=state.keep_body)
                completed = connection.completed_ns
                status = connection.status
                body_parts = connection.body
            finally:
                pool.release(connection)
            if status not in step.ok_statuses:
                error = ErrorKind.for_status(status)
            elif step.extract is not None:
                answer = json.loads(b"".join(body_parts))
                try:
                    step.extract(iteration, answer)
                except (KeyError, IndexError, TypeError, ValueError):
                    error = ErrorKind.BAD_RESPONSE
        except TimeoutError:
            error = ErrorKind.TIMEOUT
        except OSError:
            error = ErrorKind.CONNECTION
        except (ResponseError, ValueError):
            error = ErrorKind.BAD_RESPONSE
        except asyncio.CancelledError:
            self._cancelled += 1
            raise
        finally:
            self._in_flight -= 1
        self._record(state, intended, completed or _now_ns(), status, error)
        return error is None

    # -- statistics ------------------------------------------------------------------------

    def _record(
        self,
        state: _StepState,
        intended: int,
        completed: int,
        status: int | None,
        error: ErrorKind | None,
    ) -> None:
        latency_us = (completed - intended) // 1000
        if latency_us < LOWEST_US:
            latency_us = LOWEST_US
        elif latency_us > HIGHEST_US:
            latency_us = HIGHEST_US
        if intended >= self._measure_from:
            state.recorder.record(latency_us, status, error)
        index = (completed - self._t0) // self._width_ns
        bucket = state.buckets.get(index)
        if bucket is None:
            bucket = state.buckets[index] = _Bucket(new_histogram())
        record_us(bucket.histogram, latency_us)
        if self._interval_histogram is not None:
            record_us(self._interval_histogram, latency_us)
        self._completed += 1
        if error is not None:
            bucket.errors += 1
            self._errors += 1

    def _close_buckets(self, *, final: int | None = None) -> None:
        """Turn finished buckets (all of them when `final` is given) into the time series."""
        now = _now_ns() if final is None else final
        last = (now - self._t0) // self._width_ns - (0 if final is not None else 1)
        if final is not None:
            last = max([last, *(max(s.buckets) for s in self._steps if s.buckets)])
        keep = self._profile.keep_bucket_histograms
        while self._next_bucket <= last:
            index = self._next_bucket
            start = index * self._width
            covered = self._width
            if final is not None:
                covered = min(self._width, max((final - self._t0) / 1e9 - start, 1e-3))
            overall = new_histogram()
            errors = 0
            for state in self._steps:
                bucket = state.buckets.pop(index, None)
                if bucket is None:
                    state.series.append(_empty_bucket(start, self._active))
                    continue
                overall.add(bucket.histogram)
                errors += bucket.errors
                state.series.append(
                    bucket_of(
                        start,
                        covered,
                        bucket.histogram,
                        bucket.errors,
                        self._active,
                        keep_histogram=keep,
                    )
                )
            self._series.append(
                bucket_of(start, covered, overall, errors, self._active, keep_histogram=keep)
            )
            self._next_bucket += 1

    async def _tick(self) -> None:
        """Close time buckets as they end and report progress every interval."""
        profile = self._profile
        period = min(0.25, self._width / 2, profile.progress_interval_seconds / 2)
        interval_ns = int(profile.progress_interval_seconds * 1e9)
        next_report = self._t0 + interval_ns
        last_report, last_completed = self._t0, 0
        while True:
            await asyncio.sleep(period)
            self._close_buckets()
            now = _now_ns()
            if self._progress is None or self._interval_histogram is None or now < next_report:
                continue
            histogram, self._interval_histogram = self._interval_histogram, new_histogram()
            interval_count = self._completed - last_completed
            p95 = histogram.get_value_at_percentile(95) if histogram.get_total_count() else None
            report = LoadProgress(
                elapsed_seconds=round((now - self._t0) / 1e9, 3),
                requests=self._completed,
                errors=self._errors,
                interval_rps=round(interval_count / max((now - last_report) / 1e9, 1e-6), 3),
                interval_p95_ms=None if p95 is None else round(p95 / 1000, 3),
                active_users=self._active,
                late_sends=self._late,
                dropped_sends=self._dropped,
            )
            last_report, last_completed = now, self._completed
            next_report = now + interval_ns
            try:
                self._progress(report)
            except Exception:  # a broken progress display must not end a long run
                logger.exception("the load progress callback raised; the run goes on")


def _empty_bucket(start: float, active: int) -> TimeBucket:
    return TimeBucket(
        start_seconds=round(start, 3), requests=0, errors=0, throughput_rps=0.0, active_users=active
    )


async def run_load_async(
    base_url: str,
    profile: LoadProfileConfig,
    scenario: Scenario,
    *,
    stop_event: StopSignal | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Run `scenario` against `base_url` with the traffic of `profile`, on the running loop.

    Args:
        base_url: Origin of the target, e.g. ``http://127.0.0.1:8080``; step paths are appended.
        profile: Users, arrival rate, think times, timeouts and the bounds of the run.
        scenario: The steps each virtual user (or arrival) runs.
        stop_event: Set it (from any thread) to end the run within about a second.
        progress: Called every ``profile.progress_interval_seconds`` with a progress report.

    Raises:
        ConfigError: `base_url` is not an http(s) URL, or its host is not in
            ``profile.allow_hosts`` (loopback only by default).
        RunError: a scenario callable raised an unexpected exception.
    """
    check_target_allowed(base_url, profile.allow_hosts)
    return await _LoadRun(base_url, profile, scenario, stop_event, progress).run()


def run_load(
    base_url: str,
    profile: LoadProfileConfig,
    scenario: Scenario,
    *,
    stop_event: StopSignal | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Run a load test on a fresh uvloop event loop and return its statistics.

    Must be called from a thread without a running event loop (use :func:`run_load_async`
    inside one). Arguments are those of :func:`run_load_async`.
    """
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(
            run_load_async(base_url, profile, scenario, stop_event=stop_event, progress=progress)
        )
