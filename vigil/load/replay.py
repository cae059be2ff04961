"""Replay of a labelled stream through a target's ``/predict`` and ``/feedback``, in simulated time.

Every row of the stream is one prediction (at the row's ``timestamp``) and one
label (at its ``label_available_at``). :func:`schedule_replay` merges both into
one sequence ordered by simulated time, the way a production service sees them:
a label whose time has not come yet is not sent, so the predictions of later
rows are made before earlier labels arrive. When a label and a question fall on
the same instant the label goes first, as in river's ``stream.simulate_qa``
(the cross-check against river depends on this).

:func:`replay_stream` sends that sequence with up to ``concurrency`` requests
in flight, in order of dispatch. Simulated time is accelerated: unpaced by
default (as fast as the target answers, order kept), or at a fixed number of
simulated seconds per wall second. A label is only sent after the answer to its
own prediction (it needs the request id), so with concurrency a few labels can
trail their simulated moment by the time of one round trip, never precede it.

The replay is bounded twice: by the rows given and by ``time_cap_s``, after
which nothing new is dispatched and the rows not reached are recorded as not
sent. Every answer is recorded, good or bad; judging them is
``vigil.scoring.learning``'s job.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

PREDICT = 0
FEEDBACK = 1
NOT_SENT = -1
"""Status recorded for a request that was never sent (time cap, or its prediction failed)."""
TRANSPORT_ERROR = 0
"""Status recorded for a request that got no HTTP answer (refused, reset, timed out)."""

ANSWER_COLUMNS = (
    "row_id",
    "day",
    "label",
    "request_id",
    "prediction",
    "score",
    "model_version",
    "predict_status",
    "predict_latency_s",
    "predict_error",
    "feedback_status",
    "feedback_latency_s",
    "feedback_error",
    "predicted_at_s",
    "labelled_at_s",
)
"""Columns of :attr:`ReplayOutcome.answers`; times are seconds after the replay started."""


@dataclass(frozen=True)
class ReplayOutcome:
    """Everything the target answered during one replay."""

    answers: pd.DataFrame
    """One row per stream row, columns :data:`ANSWER_COLUMNS`."""
    order: list[tuple[int, int]]
    """The dispatch order: ``(PREDICT | FEEDBACK, position)`` pairs."""
    elapsed_s: float
    truncated: bool
    """True when the time cap stopped the replay before every request was dispatched."""
    concurrency: int

    @property
    def predictions_answered(self) -> int:
        """Predictions that got a 2xx answer carrying a request id and a prediction."""
        answers = self.answers
        return int(
            (answers["predict_status"].between(200, 299) & answers["request_id"].notna()).sum()
        )

    @property
    def labels_accepted(self) -> int:
        """Labels that got a 2xx answer."""
        return int(self.answers["feedback_status"].between(200, 299).sum())


def sample_rows(frame: pd.DataFrame, max_rows_per_day: int | None) -> pd.DataFrame:
    """Keep at most `max_rows_per_day` rows of each simulated day, evenly spread over it.

    Args:
        frame: The stream's rows, with a ``day`` column, in time order.
        max_rows_per_day: The bound; None keeps every row.

    Returns:
        The kept rows in their original order (the index is preserved).
    """
    if max_rows_per_day is None:
        return frame
    if max_rows_per_day < 1:
        raise ValueError(f"max_rows_per_day={max_rows_per_day} must be at least 1 (or None)")
    position = frame.groupby("day", sort=False).cumcount().to_numpy()
    size = frame.groupby("day", sort=False)["day"].transform("size").to_numpy()
    # Row k of a day of n rows is kept when it is the first to reach the next multiple of n/m:
    # an even spread across the day, identical for the same stream and bound.
    keep = np.floor(position * max_rows_per_day / size) != np.floor(
        (position - 1) * max_rows_per_day / size
    )
    keep |= position == 0
    return frame[keep]


def schedule_replay(timestamps: pd.Series, available_at: pd.Series) -> list[tuple[int, int]]:
    """Order every prediction and every label of a stream by simulated time.

    Args:
        timestamps: When each row is predicted.
        available_at: When each row's label becomes known (never before its timestamp).

    Returns:
        ``(PREDICT | FEEDBACK, position)`` pairs, position being the row's place in the
        inputs. At the same instant labels come before predictions (river's order); a row's
        own label always comes after its own prediction, even with no delay.
    """
    asked, answered = _nanoseconds(timestamps), _nanoseconds(available_at)
    if len(asked) != len(answered):
        raise ValueError("timestamps and available_at must have one entry per row")
    early = np.flatnonzero(answered < asked)
    if early.size:
        raise ValueError(
            f"row at position {int(early[0])} has its label available before its prediction; "
            "label_available_at must not precede timestamp"
        )
    rows = np.arange(len(asked))
    # A zero delay would put a row's label before its own prediction; it goes just after.
    label_rank = np.where(answered == asked, 2, 0)
    moments = np.concatenate([asked, answered])
    ranks = np.concatenate([np.ones_like(rows), label_rank])
    kinds = np.concatenate([np.full_like(rows, PREDICT), np.full_like(rows, FEEDBACK)])
    positions = np.concatenate([rows, rows])
    order = np.lexsort((positions, ranks, moments))
    return [(int(kinds[i]), int(positions[i])) for i in order]


class _Replay:
    """The state of one replay: what to send, what came back."""

    def __init__(
        self,
        features: list[dict[str, Any]],
        labels: list[int],
        order: list[tuple[int, int]],
        due_s: tuple[np.ndarray, np.ndarray],
        *,
        base_url: str,
        concurrency: int,
        request_timeout_s: float,
        time_cap_s: float,
        simulated_seconds_per_second: float | None,
    ) -> None:
        self.features = features
        self.labels = labels
        self.order = order
        self.due_s = due_s
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.request_timeout_s = request_timeout_s
        self.time_cap_s = time_cap_s
        self.pace = simulated_seconds_per_second
        rows = len(features)
        self.request_id: list[str | None] = [None] * rows
        self.prediction: list[float] = [math.nan] * rows
        self.score: list[float] = [math.nan] * rows
        self.model_version: list[str | None] = [None] * rows
        self.predict_status = np.full(rows, NOT_SENT, dtype=np.int64)
        self.predict_latency = np.full(rows, math.nan)
        self.predict_error: list[str | None] = [None] * rows
        self.feedback_status = np.full(rows, NOT_SENT, dtype=np.int64)
        self.feedback_latency = np.full(rows, math.nan)
        self.feedback_error: list[str | None] = [None] * rows
        self.predicted_at = np.full(rows, math.nan)
        self.labelled_at = np.full(rows, math.nan)
        self.truncated = False
        self.started = 0.0

    async def run(self) -> float:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=self.request_timeout_s)
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        predicted = [asyncio.Event() for _ in self.features]
        slots = asyncio.Semaphore(self.concurrency)
        in_flight: set[asyncio.Task] = set()
        self.started = time.monotonic()
        deadline = self.started + self.time_cap_s
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            for kind, row in self.order:
                if self.pace:
                    due = self.started + self.due_s[kind][row]
                    if due >= deadline:
                        self.truncated = True
                        break
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                await slots.acquire()
                if time.monotonic() >= deadline:
                    slots.release()
                    self.truncated = True
                    break
                if kind == PREDICT:
                    work = self._predict(session, row, predicted[row])
                else:
                    work = self._feedback(session, row, predicted[row])
                job = asyncio.create_task(work)
                in_flight.add(job)
                job.add_done_callback(in_flight.discard)
                job.add_done_callback(lambda _job: slots.release())
            if in_flight:
                # Each request is bounded by its own timeout; this only waits for them.
                await asyncio.wait(set(in_flight), timeout=2 * self.request_timeout_s + 1)
            for job in list(in_flight):
                job.cancel()
        return time.monotonic() - self.started

    async def _predict(self, session: Any, row: int, done: asyncio.Event) -> None:
        import aiohttp

        sent = time.monotonic()
        self.predicted_at[row] = sent - self.started
        try:
            async with session.post(
                f"{self.base_url}/predict", json={"features": self.features[row]}
            ) as response:
                self.predict_status[row] = response.status
                body = await response.read()
            self.predict_latency[row] = time.monotonic() - sent
            if 200 <= response.status < 300:
                self._read_prediction(row, body)
            else:
                self.predict_error[row] = body[:200].decode("utf-8", "replace")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.predict_status[row] = TRANSPORT_ERROR
            self.predict_error[row] = f"{type(exc).__name__}: {exc}"[:200]
        finally:
            done.set()

    def _read_prediction(self, row: int, body: bytes) -> None:
        try:
            answer = json.loads(body)
            self.request_id[row] = str(answer["request_id"])
            self.prediction[row] = float(answer["prediction"])
            score = answer.get("score")
            self.score[row] = math.nan if score is None else float(score)
            version = answer.get("model_version")
            self.model_version[row] = None if version is None else str(version)
        except (ValueError, KeyError, TypeError) as exc:
            self.request_id[row] = None
            self.predict_error[row] = f"answer breaks the contract: {type(exc).__name__}: {exc}"
            self.predict_error[row] = self.predict_error[row][:200]

    async def _feedback(self, session: Any, row: int, predicted: asyncio.Event) -> None:
        import aiohttp

        await predicted.wait()
        request_id = self.request_id[row]
        if request_id is None:
            self.feedback_error[row] = "not sent: the prediction got no usable answer"
            return
        sent = time.monotonic()
        self.labelled_at[row] = sent - self.started
        try:
            async with session.post(
                f"{self.base_url}/feedback",
                json={"request_id": request_id, "label": self.labels[row]},
            ) as response:
                self.feedback_status[row] = response.status
                body = await response.read()
            self.feedback_latency[row] = time.monotonic() - sent
            if not 200 <= response.status < 300:
                self.feedback_error[row] = body[:200].decode("utf-8", "replace")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.feedback_status[row] = TRANSPORT_ERROR
            self.feedback_error[row] = f"{type(exc).__name__}: {exc}"[:200]


def replay_stream(
    frame: pd.DataFrame,
    feature_names: tuple[str, ...] | list[str],
    base_url: str,
    *,
    concurrency: int = 8,
    request_timeout_s: float = 10.0,
    time_cap_s: float = 60.0,
    simulated_seconds_per_second: float | None = None,
) -> ReplayOutcome:
    """Send a labelled stream through a target's ``/predict`` and ``/feedback``.

    Args:
        frame: The rows: ``row_id``, ``day``, ``timestamp``, ``label_available_at``,
            ``label`` and the feature columns, in time order.
        feature_names: The feature columns, sent as ``{"features": {name: value}}``.
        base_url: The target, e.g. ``http://127.0.0.1:8080``.
        concurrency: Requests in flight at most.
        request_timeout_s: Bound on each request, connect to last byte.
        time_cap_s: Nothing new is dispatched after this many seconds.
        simulated_seconds_per_second: Pace of simulated time; None sends as fast as the
            target answers (the order is kept either way).

    Returns:
        Every answer, the dispatch order and whether the time cap cut the replay short.
    """
    if concurrency < 1 or request_timeout_s <= 0 or time_cap_s <= 0:
        raise ValueError(
            f"concurrency={concurrency}, request_timeout_s={request_timeout_s} and "
            f"time_cap_s={time_cap_s} must all be positive"
        )
    frame = frame.reset_index(drop=True)
    order = schedule_replay(frame["timestamp"], frame["label_available_at"])
    asked_ns = _nanoseconds(frame["timestamp"])
    start = asked_ns.min() if len(frame) else 0
    asked = (asked_ns - start) / 1e9
    answered = (_nanoseconds(frame["label_available_at"]) - start) / 1e9
    pace = simulated_seconds_per_second
    # When each prediction and each label is due, in wall seconds after the start.
    due_s = (asked / pace, answered / pace) if pace else (asked, answered)
    features = [
        {name: _json_number(value) for name, value in zip(feature_names, values, strict=True)}
        for values in frame[list(feature_names)].itertuples(index=False, name=None)
    ]
    replay = _Replay(
        features,
        [int(label) for label in frame["label"]],
        order,
        due_s,
        base_url=base_url,
        concurrency=concurrency,
        request_timeout_s=request_timeout_s,
        time_cap_s=time_cap_s,
        simulated_seconds_per_second=pace,
    )
    elapsed = _run_coroutine(replay.run)
    answers = pd.DataFrame(
        {
            "row_id": frame["row_id"].to_numpy(),
            "day": frame["day"].to_numpy(),
            "label": frame["label"].to_numpy(dtype=np.int64),
            "request_id": replay.request_id,
            "prediction": replay.prediction,
            "score": replay.score,
            "model_version": replay.model_version,
            "predict_status": replay.predict_status,
            "predict_latency_s": replay.predict_latency,
            "predict_error": replay.predict_error,
            "feedback_status": replay.feedback_status,
            "feedback_latency_s": replay.feedback_latency,
            "feedback_error": replay.feedback_error,
            "predicted_at_s": replay.predicted_at,
            "labelled_at_s": replay.labelled_at,
        },
        columns=list(ANSWER_COLUMNS),
    )
    return ReplayOutcome(
        answers=answers,
        order=order,
        elapsed_s=elapsed,
        truncated=replay.truncated,
        concurrency=concurrency,
    )


def _nanoseconds(moments: pd.Series) -> np.ndarray:
    """Moments as integer nanoseconds (pandas keeps each column in its own unit)."""
    return pd.DatetimeIndex(moments).as_unit("ns").asi8


def _json_number(value: Any) -> float | int | str:
    """A feature value as JSON carries it (numpy scalars are not JSON-serialisable)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _run_coroutine(start: Any) -> float:
    """Run ``start()`` to completion, on a fresh thread when this one already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(start())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(start())).result()
