"""A steady stream of probes against the target, independent of whatever else vigil does.

Faults, deploys and restores are judged by what a user would have seen while they
happened. A :class:`ProbeStream` sends one probe every ``interval_s`` -- alternately a
health check and a light prediction, or only health -- from its own thread and event
loop, and records each answer with the wall-clock instant it was *sent*.

Probes follow an open model: each is sent at its scheduled instant whether or not the
previous one has answered, so a hung target shows up as a run of failed (timed-out)
probes at the right times instead of one slow probe that hides the rest. The number in
flight is capped; a probe that could not be sent because the cap was reached is recorded
as failed with ``error="in_flight_cap"``, never silently skipped.

The stream stops by itself after ``max_duration_s`` and holds at most ``max_samples``
samples (the oldest are dropped first, and counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from vigil.config_base import StrictModel

if TYPE_CHECKING:  # the configuration imports this module's ProbeConfig: keep it light
    import aiohttp

    from vigil.targets.base import TargetEndpoint


class ProbeKind(StrEnum):
    """What one probe asks."""

    HEALTH = "health"
    PREDICT = "predict"


class ProbeConfig(StrictModel):
    """How the probe stream probes the target."""

    interval_s: float = Field(
        default=0.1, ge=0.01, le=60, description="Time between two probes (the resolution)."
    )
    timeout_s: float = Field(
        default=1.0, gt=0, le=60, description="A probe not answered within this has failed."
    )
    predict: bool = Field(
        default=True, description="Alternate health probes with a light /predict request."
    )
    max_in_flight: int = Field(
        default=50, ge=1, le=10_000, description="Probes awaiting an answer at most."
    )
    max_duration_s: float = Field(
        default=3600.0, gt=0, le=7 * 86400, description="The stream stops by itself after this."
    )
    max_samples: int = Field(
        default=200_000, ge=100, le=10_000_000, description="Samples kept (oldest dropped first)."
    )


class ProbeSample(BaseModel):
    """One probe: when it was sent, what it asked, what came back."""

    model_config = ConfigDict(frozen=True)

    sent_at: datetime
    kind: ProbeKind
    ok: bool
    status: int | None = None
    latency_ms: float | None = Field(
        default=None, description="From send to the whole answer read; None when none came."
    )
    error: str | None = None


PROBE_FEATURES = {"x0": 5.0, "x1": 5.0, "x2": 5.0}
"""Features of the probe prediction (the reference's SEA concept takes three numbers)."""


class ProbeStream:
    """Probes a target in a background thread; use as a context manager.

    Example::

        with ProbeStream(endpoint, ProbeConfig(interval_s=0.1)) as probes:
            inject_fault()
            ...
        samples = probes.samples()
    """

    def __init__(self, endpoint: TargetEndpoint, config: ProbeConfig | None = None) -> None:
        self.endpoint = endpoint
        self.config = config or ProbeConfig()
        self._samples: deque[ProbeSample] = deque(maxlen=self.config.max_samples)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped_samples = 0
        self.started_at: datetime | None = None
        self.stopped_at: datetime | None = None

    def __enter__(self) -> ProbeStream:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start probing (once)."""
        if self._thread is not None:
            return
        self.started_at = datetime.now(UTC)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name="vigil-probes", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop probing and wait for the probes in flight (at most one timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.config.timeout_s + 5.0)
        if self.stopped_at is None:
            self.stopped_at = datetime.now(UTC)

    def samples(self, since: datetime | None = None) -> list[ProbeSample]:
        """The samples so far, in the order they were sent (optionally only from `since`)."""
        with self._lock:
            ordered = sorted(self._samples, key=lambda s: s.sent_at)
        if since is not None:
            ordered = [s for s in ordered if s.sent_at >= since]
        return ordered

    def _add(self, sample: ProbeSample) -> None:
        with self._lock:
            if len(self._samples) == self._samples.maxlen:
                self.dropped_samples += 1
            self._samples.append(sample)

    async def _run(self) -> None:
        import aiohttp  # here, not at the top: the configuration imports ProbeConfig

        config = self.config
        timeout = aiohttp.ClientTimeout(total=config.timeout_s)
        connector = aiohttp.TCPConnector(limit=config.max_in_flight, force_close=False)
        in_flight: set[asyncio.Task[None]] = set()
        deadline = time.monotonic() + config.max_duration_s
        async with aiohttp.ClientSession(
            base_url=self.endpoint.base_url, timeout=timeout, connector=connector
        ) as session:
            start = time.monotonic()
            tick = 0
            while not self._stop.is_set() and time.monotonic() < deadline:
                kind = ProbeKind.PREDICT if config.predict and tick % 2 == 1 else ProbeKind.HEALTH
                sent_at = datetime.now(UTC)
                if len(in_flight) >= config.max_in_flight:
                    self._add(
                        ProbeSample(sent_at=sent_at, kind=kind, ok=False, error="in_flight_cap")
                    )
                else:
                    task = asyncio.create_task(self._probe(session, kind, sent_at))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                tick += 1
                # Sleep to the next scheduled instant, so the rate never drifts.
                await asyncio.sleep(max(0.0, start + tick * config.interval_s - time.monotonic()))
            if in_flight:
                await asyncio.wait(in_flight, timeout=config.timeout_s + 1.0)

    async def _probe(
        self, session: aiohttp.ClientSession, kind: ProbeKind, sent_at: datetime
    ) -> None:
        import aiohttp

        began = time.perf_counter()
        try:
            if kind is ProbeKind.HEALTH:
                response = await session.get(self.endpoint.health_path)
            else:
                response = await session.post("/predict", json={"features": PROBE_FEATURES})
            async with response:
                body = await response.read()
                status = response.status
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            self._add(
                ProbeSample(
                    sent_at=sent_at,
                    kind=kind,
                    ok=False,
                    error=type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}",
                )
            )
            return
        latency_ms = (time.perf_counter() - began) * 1000.0
        ok = status == 200 and _answer_ok(kind, body)
        self._add(
            ProbeSample(
                sent_at=sent_at,
                kind=kind,
                ok=ok,
                status=status,
                latency_ms=latency_ms,
                error=None if ok else f"HTTP {status}",
            )
        )


def _answer_ok(kind: ProbeKind, body: bytes) -> bool:
    """A health probe is good when the service says ok; a prediction when it has one."""
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    if not isinstance(answer, dict):
        return False
    if kind is ProbeKind.HEALTH:
        return answer.get("status") == "ok"
    return "prediction" in answer


@contextlib.contextmanager
def probing(endpoint: TargetEndpoint, config: ProbeConfig | None = None) -> Iterator[ProbeStream]:
    """A started probe stream that is always stopped when the block ends."""
    stream = ProbeStream(endpoint, config)
    stream.start()
    try:
        yield stream
    finally:
        stream.stop()


__all__ = ["PROBE_FEATURES", "ProbeConfig", "ProbeKind", "ProbeSample", "ProbeStream", "probing"]
