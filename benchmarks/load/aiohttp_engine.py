"""vigil's previous load engine (aiohttp on uvloop), kept only to be benchmarked against.

This is ``vigil/load/engine.py`` as it was before the engine moved to its own HTTP/1.1 client
(commit c98a638); ``bench_generators.py`` runs it side by side with the current engine. It is
not part of vigil and nothing imports it but the benchmark.

Original description: virtual users (closed model) or arrivals (open model) over aiohttp.

One ``aiohttp.ClientSession`` with a bounded ``TCPConnector`` and an explicit ``ClientTimeout``
carries every request. Latencies go into HDR histograms (see :mod:`vigil.load.statistics`).

Where latency is measured from:

* **Open model** -- from the *intended* send time: the first request of an iteration from its
  scheduled arrival, a later one from the planned end of the think time before it. When the
  target stalls, arrivals wait for a free slot and the delay shows in the latency instead of
  silently thinning the traffic, which corrects for coordinated omission.
* **Closed model** -- from the actual send time. A virtual user waits for its answer before it
  thinks and sends again, so a slow target receives fewer requests; that is the model's nature
  (it is how a fixed population of users behaves), not an error of measurement.

Every run ends by itself: at ``duration_seconds``, after ``max_requests`` requests, when the
scenario's rows run out, or within a fraction of a second of its stop signal being set.
Requests in flight at the stop get ``stop_grace_seconds`` to finish; the rest are cancelled and
counted as cancelled. The session, its sockets and every task are closed before returning.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import uvloop
from hdrh.histogram import HdrHistogram
from yarl import URL

from vigil.errors import ConfigError, RunError
from vigil.load.config import LoadModel, LoadProfileConfig
from vigil.load.scenario import Iteration, Scenario, Step
from vigil.load.statistics import (
    OVERALL,
    ErrorKind,
    LoadProgress,
    LoadResult,
    RequestRecorder,
    StopReason,
    TimeBucket,
    bucket_of,
    new_histogram,
    record_latency,
)
from vigil.results import utc_now

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.05
"""How often the run checks its stop signal and its end; bounds the reaction to a stop."""


class StopSignal(Protocol):
    """Anything with ``is_set()``: a threading, multiprocessing or asyncio event."""

    def is_set(self) -> bool: ...


ProgressCallback = Callable[[LoadProgress], None]


@dataclass(slots=True)
class _Bucket:
    histogram: HdrHistogram
    errors: int = 0


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
        self._urls = {step.path: URL(base_url.rstrip("/") + step.path) for step in scenario.steps}
        self._rng = random.Random(profile.seed)
        self._recorders = {step.name: RequestRecorder(step.name) for step in scenario.steps}
        self._overall = RequestRecorder(OVERALL)
        self._buckets: dict[int, _Bucket] = {}
        self._series: list[TimeBucket] = []
        self._next_bucket = 0
        self._interval_histogram = new_histogram()
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._loop = asyncio.get_running_loop()
        self._t0 = 0.0
        self._measure_from = 0.0
        self._stopping = False
        self._end_reason: StopReason | None = None
        self._failure: BaseException | None = None
        self._issued = 0
        self._in_flight = 0
        self._cancelled = 0
        self._active = 0
        self._completed = 0
        self._errors = 0

    async def run(self) -> LoadResult:
        profile = self._profile
        loop = self._loop
        started_at = utc_now()
        self._t0 = loop.time()
        self._measure_from = self._t0 + profile.warmup_seconds
        deadline = self._t0 + profile.duration_seconds
        async with self._open_session() as session:
            self._session = session
            driver = loop.create_task(
                self._arrivals() if profile.model is LoadModel.OPEN else self._spawn_users()
            )
            ticker = loop.create_task(self._tick())
            try:
                reason = await self._wait_for_end(driver, deadline)
                self._stopping = True
                stopped = loop.time()
                await self._drain(profile.stop_grace_seconds)
            finally:
                self._stopping = True
                await self._cancel([driver, ticker, *self._tasks])
        if self._failure is not None:
            raise RunError(
                f"scenario {self._scenario.name!r} raised while building or reading a request: "
                f"{self._failure!r}; fix the scenario's json_body/extract callables"
            ) from self._failure
        self._close_buckets(final=loop.time())
        measured = max(0.0, stopped - self._measure_from)
        return LoadResult(
            scenario=self._scenario.name,
            model=profile.model,
            users=profile.users,
            started_at=started_at,
            finished_at=utc_now(),
            measured_seconds=round(measured, 3),
            stop_reason=reason,
            overall=self._overall.stats(measured),
            requests={name: rec.stats(measured) for name, rec in self._recorders.items()},
            cancelled=self._cancelled,
            bucket_seconds=profile.bucket_seconds,
            series=self._series,
        )

    def _open_session(self) -> aiohttp.ClientSession:
        profile = self._profile
        keepalive: dict[str, Any] = (
            {"keepalive_timeout": profile.keepalive_seconds}
            if profile.keepalive_seconds > 0
            else {"force_close": True}
        )
        connector = aiohttp.TCPConnector(
            limit=profile.connection_limit or profile.users, limit_per_host=0, **keepalive
        )
        timeout = aiohttp.ClientTimeout(
            total=profile.request_timeout_seconds,
            sock_connect=min(profile.connect_timeout_seconds, profile.request_timeout_seconds),
        )
        return aiohttp.ClientSession(
            connector=connector, timeout=timeout, headers={"User-Agent": "vigil-load"}
        )

    async def _wait_for_end(self, driver: asyncio.Task[None], deadline: float) -> StopReason:
        while True:
            if self._failure is not None:
                return StopReason.STOP_REQUESTED
            if self._stop_signal is not None and self._stop_signal.is_set():
                return StopReason.STOP_REQUESTED
            now = self._loop.time()
            if now >= deadline:
                return StopReason.DURATION
            if driver.done():
                driver.result()  # re-raise a failure of the spawner itself
                if not self._tasks:
                    return self._end_reason or StopReason.DURATION
            await asyncio.sleep(min(_POLL_SECONDS, deadline - now))

    async def _drain(self, grace_seconds: float) -> None:
        """Let requests in flight finish for up to `grace_seconds`."""
        until = self._loop.time() + grace_seconds
        while self._in_flight and self._loop.time() < until:
            await asyncio.sleep(min(_POLL_SECONDS, until - self._loop.time()))

    @staticmethod
    async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, body: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(self._guarded(body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, body: Coroutine[Any, Any, None]) -> None:
        try:
            await body
        except Exception as exc:  # a scenario bug: remember it and end the run
            if self._failure is None:
                self._failure = exc

    # -- traffic ---------------------------------------------------------------------------

    async def _spawn_users(self) -> None:
        profile = self._profile
        ramp = profile.ramp_time_seconds
        for user in range(profile.users):
            if ramp > 0 and profile.users > 1:
                delay = self._t0 + ramp * user / (profile.users - 1) - self._loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
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
                for step in self._scenario.steps:
                    outcome = await self._send(step, iteration, self._loop.time())
                    if outcome is None:
                        return
                    if step.think_after:
                        await asyncio.sleep(self._think_seconds())
                    if not outcome:
                        break
        finally:
            self._active -= 1

    async def _arrivals(self) -> None:
        profile = self._profile
        assert profile.arrival_rate is not None
        interval = 1.0 / profile.arrival_rate
        deadline = self._t0 + profile.duration_seconds
        slots = asyncio.Semaphore(profile.users)
        arrival = 0
        while not self._stopping and self._end_reason is None:
            intended = self._t0 + arrival * interval
            if intended >= deadline:
                return
            delay = intended - self._loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # Waiting here for a free slot delays the send but not `intended`, so the wait is
            # part of the measured latency (coordinated-omission correction).
            await slots.acquire()
            if self._stopping or self._end_reason is not None:
                slots.release()
                return
            self._start(self._iteration(arrival, intended, slots))
            arrival += 1

    async def _iteration(self, arrival: int, intended: float, slots: asyncio.Semaphore) -> None:
        self._active += 1
        try:
            iteration = self._new_iteration(arrival)
            if iteration is None:
                return
            for step in self._scenario.steps:
                outcome = await self._send(step, iteration, intended)
                if outcome is None:
                    return
                if step.think_after:
                    pause = self._think_seconds()
                    intended = self._loop.time() + pause
                    await asyncio.sleep(pause)
                else:
                    intended = self._loop.time()
                if not outcome:
                    break
        finally:
            self._active -= 1
            slots.release()

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

    async def _send(self, step: Step, iteration: Iteration, intended: float) -> bool | None:
        """Send one request; True when it succeeded, False when it failed, None when not sent."""
        # Running out of rows stops new iterations only; ones under way still finish.
        if self._stopping:
            return None
        if self._issued >= self._profile.max_requests:
            self._end_reason = StopReason.MAX_REQUESTS
            return None
        body = step.json_body(iteration) if step.json_body is not None else None
        assert self._session is not None
        self._issued += 1
        self._in_flight += 1
        status: int | None = None
        error: ErrorKind | None = None
        try:
            async with self._session.request(
                step.method, self._urls[step.path], json=body, allow_redirects=False
            ) as response:
                status = response.status
                if status not in step.ok_statuses:
                    error = ErrorKind.for_status(status)
                    await response.read()
                elif step.extract is not None:
                    answer = await response.json(content_type=None)
                    try:
                        step.extract(iteration, answer)
                    except (KeyError, IndexError, TypeError, ValueError):
                        error = ErrorKind.BAD_RESPONSE
                else:
                    await response.read()
        except TimeoutError:
            error = ErrorKind.TIMEOUT
        except (aiohttp.ClientConnectionError, OSError):
            error = ErrorKind.CONNECTION
        except (aiohttp.ClientError, ValueError):
            error = ErrorKind.BAD_RESPONSE
        except asyncio.CancelledError:
            self._cancelled += 1
            raise
        finally:
            self._in_flight -= 1
        self._record(step.name, intended, status, error)
        return error is None

    # -- statistics ------------------------------------------------------------------------

    def _record(
        self, name: str, intended: float, status: int | None, error: ErrorKind | None
    ) -> None:
        now = self._loop.time()
        latency_us = (now - intended) * 1_000_000
        if intended >= self._measure_from:
            self._recorders[name].record(latency_us, status, error)
            self._overall.record(latency_us, status, error)
        index = int((now - self._t0) / self._profile.bucket_seconds)
        bucket = self._buckets.get(index)
        if bucket is None:
            bucket = self._buckets[index] = _Bucket(new_histogram())
        record_latency(bucket.histogram, latency_us)
        record_latency(self._interval_histogram, latency_us)
        self._completed += 1
        if error is not None:
            bucket.errors += 1
            self._errors += 1

    def _close_buckets(self, *, final: float | None = None) -> None:
        """Turn finished buckets (all of them when `final` is given) into the time series."""
        width = self._profile.bucket_seconds
        now = self._loop.time() if final is None else final
        last = int((now - self._t0) / width) - (0 if final is not None else 1)
        if final is not None and self._buckets:
            last = max(last, max(self._buckets))
        while self._next_bucket <= last:
            index = self._next_bucket
            bucket = self._buckets.pop(index, None) or _Bucket(new_histogram())
            start = index * width
            covered = width if final is None else min(width, max(final - self._t0 - start, 1e-3))
            self._series.append(
                bucket_of(
                    start,
                    covered,
                    bucket.histogram,
                    bucket.errors,
                    self._active,
                    keep_histogram=self._profile.keep_bucket_histograms,
                )
            )
            self._next_bucket += 1

    async def _tick(self) -> None:
        """Close time buckets as they end and report progress every interval."""
        profile = self._profile
        period = min(0.25, profile.bucket_seconds / 2)
        next_report = self._t0 + profile.progress_interval_seconds
        last_report, last_completed = self._t0, 0
        while True:
            await asyncio.sleep(period)
            self._close_buckets()
            now = self._loop.time()
            if self._progress is None or now < next_report:
                continue
            histogram, self._interval_histogram = self._interval_histogram, new_histogram()
            interval_count = self._completed - last_completed
            p95 = histogram.get_value_at_percentile(95) if histogram.get_total_count() else None
            report = LoadProgress(
                elapsed_seconds=round(now - self._t0, 3),
                requests=self._completed,
                errors=self._errors,
                interval_rps=round(interval_count / max(now - last_report, 1e-6), 3),
                interval_p95_ms=None if p95 is None else round(p95 / 1000, 3),
                active_users=self._active,
            )
            last_report, last_completed = now, self._completed
            next_report = now + profile.progress_interval_seconds
            try:
                self._progress(report)
            except Exception:  # a broken progress display must not end a long run
                logger.exception("the load progress callback raised; the run goes on")


def _check_base_url(base_url: str) -> None:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"base_url {base_url!r} is not an http(s) URL; give e.g. 'http://127.0.0.1:8080'"
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
        ConfigError: `base_url` is not an http(s) URL.
        RunError: a scenario callable raised an unexpected exception.
    """
    _check_base_url(base_url)
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
