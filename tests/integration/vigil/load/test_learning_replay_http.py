"""The replay engine over real HTTP: order of arrival, bad answers recorded, the time cap.

A small aiohttp server on 127.0.0.1 (port 0) plays the target and writes down what
arrives, in order.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd
import pytest
from aiohttp import web

from vigil.load.replay import FEEDBACK, PREDICT, replay_stream, schedule_replay
from vigil.results import Status
from vigil.scoring.learning import judge_replay

pytestmark = pytest.mark.integration

T0 = pd.Timestamp("2026-04-06T00:00:00Z")


@dataclass
class RecordingTarget:
    """What arrived at the toy target, and how it should misbehave."""

    base_url: str = ""
    arrivals: list[tuple[int, int]] = field(default_factory=list)
    fail_predict_every: int = 0
    refuse_label_of: int = -1
    break_body_of: int = -1
    delay_s: float = 0.0
    ids: dict[str, int] = field(default_factory=dict)


def _serve(target: RecordingTarget, ready: threading.Event, stop: threading.Event) -> None:
    async def predict(request: web.Request) -> web.Response:
        row = int((await request.json())["features"]["x"])
        target.arrivals.append((PREDICT, row))
        if target.delay_s:
            await asyncio.sleep(target.delay_s)
        if target.fail_predict_every and row % target.fail_predict_every == 0:
            return web.json_response({"detail": "boom"}, status=500)
        if row == target.break_body_of:
            return web.json_response({"prediction": 1})
        request_id = f"q{row}"
        target.ids[request_id] = row
        body = {"request_id": request_id, "prediction": 1, "score": 0.7, "model_version": "t1"}
        return web.json_response(body)

    async def feedback(request: web.Request) -> web.Response:
        row = target.ids[(await request.json())["request_id"]]
        target.arrivals.append((FEEDBACK, row))
        if row == target.refuse_label_of:
            return web.json_response({"detail": "already labelled"}, status=409)
        return web.json_response({"status": "accepted"}, status=202)

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/predict", predict)
        app.router.add_post("/feedback", feedback)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        target.base_url = f"http://127.0.0.1:{port}"
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await runner.cleanup()

    asyncio.run(main())


@pytest.fixture()
def target() -> Iterator[RecordingTarget]:
    recording = RecordingTarget()
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=_serve, args=(recording, ready, stop), daemon=True)
    thread.start()
    assert ready.wait(10), "toy target did not start"
    try:
        yield recording
    finally:
        stop.set()
        thread.join(10)


def _stream(rows: int, delay_s: list[float]) -> pd.DataFrame:
    stamps = [T0 + pd.Timedelta(minutes=10 * i) for i in range(rows)]
    return pd.DataFrame(
        {
            "row_id": range(rows),
            "day": [i * 3 // rows for i in range(rows)],
            "timestamp": stamps,
            "label_available_at": [
                s + pd.Timedelta(seconds=d) for s, d in zip(stamps, delay_s, strict=True)
            ],
            "label": [i % 2 for i in range(rows)],
            "x": [float(i) for i in range(rows)],
        }
    )


def test_requests_arrive_in_simulated_time_order_with_labels_held_back(target) -> None:
    # Labels wait 25 min: each arrives after the next two rows have been predicted.
    frame = _stream(12, [1500.0] * 12)
    outcome = replay_stream(frame, ["x"], target.base_url, concurrency=1, time_cap_s=30)
    expected = schedule_replay(frame["timestamp"], frame["label_available_at"])
    assert target.arrivals == expected
    assert target.arrivals[:4] == [(PREDICT, 0), (PREDICT, 1), (PREDICT, 2), (FEEDBACK, 0)]
    assert outcome.predictions_answered == 12 and outcome.labels_accepted == 12
    assert outcome.answers["request_id"].tolist() == [f"q{i}" for i in range(12)]
    assert outcome.answers["score"].tolist() == [0.7] * 12
    assert judge_replay(outcome.answers, outcome.truncated, outcome.elapsed_s).status is (
        Status.PASSED
    )


def test_with_concurrency_every_label_still_follows_its_own_prediction(target) -> None:
    frame = _stream(60, [0.0 if i % 3 == 0 else 600.0 * (i % 7) for i in range(60)])
    outcome = replay_stream(frame, ["x"], target.base_url, concurrency=6, time_cap_s=30)
    seen = {arrival: index for index, arrival in enumerate(target.arrivals)}
    assert len(seen) == 120
    assert all(seen[(PREDICT, row)] < seen[(FEEDBACK, row)] for row in range(60))
    assert outcome.labels_accepted == 60


def test_a_target_that_errors_is_recorded_and_judged_with_the_first_bad_row(target) -> None:
    target.fail_predict_every = 5
    target.refuse_label_of = 3
    target.break_body_of = 7
    frame = _stream(10, [60.0] * 10)
    outcome = replay_stream(frame, ["x"], target.base_url, concurrency=2, time_cap_s=30)
    answers = outcome.answers
    assert answers.loc[[0, 5], "predict_status"].tolist() == [500, 500]
    assert answers.loc[[0, 5], "feedback_status"].tolist() == [-1, -1]
    assert answers.loc[3, "feedback_status"] == 409
    # A 200 without a request id answered nothing usable: recorded, its label never sent.
    assert answers.loc[7, "predict_status"] == 200 and answers.loc[7, "feedback_status"] == -1
    assert "answer breaks the contract: KeyError" in answers.loc[7, "predict_error"]
    assert outcome.predictions_answered == 7
    check = judge_replay(answers, outcome.truncated, outcome.elapsed_s)
    assert check.status is Status.FAILED
    assert (
        '3 of 10 predictions got no usable answer (first: row 0, status 500, {"detail": "boom"})'
        in (check.message)
    )
    assert "1 label(s) refused (first: row 3, status 409" in check.message


def test_the_time_cap_stops_a_slow_target_and_says_so(target) -> None:
    target.delay_s = 0.3
    frame = _stream(40, [60.0] * 40)
    outcome = replay_stream(frame, ["x"], target.base_url, concurrency=1, time_cap_s=1.0)
    assert outcome.truncated
    assert outcome.elapsed_s < 10
    assert (outcome.answers["predict_status"] == -1).sum() > 20
    check = judge_replay(outcome.answers, outcome.truncated, outcome.elapsed_s)
    assert check.status is Status.FAILED
    assert "the time cap stopped the replay after" in check.message
    assert "not sent" in check.message


def test_paced_replay_sends_nothing_before_its_simulated_moment(target) -> None:
    # 12 rows ten simulated minutes apart; 3000 simulated seconds per wall second.
    frame = _stream(12, [300.0] * 12)
    pace = 3000.0
    outcome = replay_stream(
        frame,
        ["x"],
        target.base_url,
        concurrency=4,
        time_cap_s=30,
        simulated_seconds_per_second=pace,
    )
    asked = (frame["timestamp"] - frame["timestamp"].iloc[0]).dt.total_seconds() / pace
    answered = (frame["label_available_at"] - frame["timestamp"].iloc[0]).dt.total_seconds() / pace
    assert (outcome.answers["predicted_at_s"] >= asked - 1e-6).all()
    assert (outcome.answers["labelled_at_s"] >= answered - 1e-6).all()
    assert outcome.labels_accepted == 12 and not outcome.truncated
    # A pace too slow for the cap stops at the cap instead of sleeping through it.
    slow = replay_stream(
        frame, ["x"], target.base_url, time_cap_s=0.5, simulated_seconds_per_second=600.0
    )
    assert slow.truncated and slow.predictions_answered < 12
