"""The load engine against a real HTTP server on 127.0.0.1 (no mocks).

The server (``load_target_server.py``) runs in its own process; it counts what it received so
the client's counts can be checked against the server's.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import urllib.request
from collections import Counter

import psutil
import pytest

from vigil.errors import ConfigError, RunError
from vigil.load import (
    LatencySloConfig,
    LoadProfileConfig,
    LoadProgress,
    Scenario,
    Step,
    StopReason,
    StressRampConfig,
    find_saturation,
    predict_feedback_scenario,
    random_labelled_rows,
    run_load,
    run_load_async,
    run_load_sharded,
)

pytestmark = pytest.mark.integration


def _server_stats(base_url: str) -> dict[str, dict[str, int]]:
    with urllib.request.urlopen(f"{base_url}/stats", timeout=5) as answer:
        return json.load(answer)


def _one_step(path: str, **step: object) -> Scenario:
    return Scenario(name=path, steps=(Step(name="only", path=path, **step),))


def _profile(**fields: object) -> LoadProfileConfig:
    defaults: dict[str, object] = {"users": 5, "duration_seconds": 30, "max_requests": 50}
    return LoadProfileConfig.model_validate(defaults | fields)


def test_a_max_requests_bound_sends_exactly_that_many(target: str) -> None:
    before = _server_stats(target)["received"].get("/delay", 0)

    result = run_load(target, _profile(users=20, max_requests=537), _one_step("/delay?ms=1"))

    after = _server_stats(target)["received"]["/delay"]
    assert result.stop_reason is StopReason.MAX_REQUESTS
    assert result.overall.count == 537
    assert result.requests["only"].count == 537
    assert after - before == 537
    assert result.overall.errors == {}
    assert result.cancelled == 0
    assert sum(bucket.requests for bucket in result.series) == 537


def test_predict_feedback_feeds_every_label_of_the_stream_once(target: str) -> None:
    rows = list(random_labelled_rows(seed=11, limit=120))
    before = _server_stats(target)

    result = run_load(
        target,
        _profile(users=8, max_requests=10_000, think_min_seconds=0.0, think_max_seconds=0.005),
        predict_feedback_scenario(rows),
    )

    after = _server_stats(target)
    assert result.stop_reason is StopReason.ROWS_EXHAUSTED
    assert result.requests["predict"].count == 120
    assert result.requests["feedback"].count == 120
    assert result.requests["feedback"].status_codes == {"202": 120}
    assert result.overall.error_count == 0
    labels_fed = Counter(after["labels"]) - Counter(before["labels"])
    expected = Counter(str(label) for _, label in rows)
    assert labels_fed == expected


def test_percentiles_reflect_the_injected_delay(target: str) -> None:
    result = run_load(target, _profile(users=10, max_requests=80), _one_step("/delay?ms=120"))

    latency = result.requests["only"].latency
    assert result.overall.count == 80
    # The server's 120 ms sleep runs on a millisecond timer that may fire up to 1 ms early,
    # and HDR keeps 3 significant digits (64 µs steps at 120 ms).
    assert latency.min_ms is not None and latency.min_ms >= 118.9
    assert latency.p50_ms is not None and latency.p50_ms >= 118.9
    assert latency.p99_ms is not None and latency.p99_ms >= latency.p50_ms


@pytest.mark.parametrize(
    ("path", "step", "kind"),
    [
        ("/delay?status=503", {}, "status_5xx"),
        ("/delay?status=404", {}, "status_4xx"),
        ("/delay?status=200", {"ok_statuses": frozenset({202})}, "status_2xx"),
        ("/close", {}, "connection"),
        (
            "/notjson",
            {"extract": lambda it, answer: it.values.update(id=answer["id"])},
            "bad_response",
        ),
        (
            "/delay?ms=0",
            {"extract": lambda it, answer: it.values.update(id=answer["id"])},
            "bad_response",
        ),
    ],
)
def test_errors_are_classified_by_kind(target: str, path: str, step: dict, kind: str) -> None:
    result = run_load(target, _profile(users=3, max_requests=12), _one_step(path, **step))

    assert result.overall.count == 12
    assert result.requests["only"].errors == {kind: 12}
    assert result.error_rate == 1.0


def test_a_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.
    result = run_load(f"http://127.0.0.1:{port}", _profile(users=2, max_requests=6), _one_step("/"))
    assert result.requests["only"].errors == {"connection": 6}


def test_timeouts_are_counted_at_the_timeout(target: str) -> None:
    result = run_load(
        target, _profile(users=4, max_requests=8, request_timeout_seconds=0.3), _one_step("/hang")
    )

    assert result.requests["only"].errors == {"timeout": 8}
    assert result.requests["only"].status_codes == {}
    latency = result.requests["only"].latency
    assert latency.min_ms is not None and latency.min_ms >= 299.0


def test_stop_event_ends_the_run_and_cancels_what_is_in_flight(target: str) -> None:
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    try:
        result = run_load(
            target,
            _profile(users=6, duration_seconds=120, request_timeout_seconds=60),
            _one_step("/hang"),
            stop_event=stop,
        )
    finally:
        timer.cancel()

    assert result.stop_reason is StopReason.STOP_REQUESTED
    assert result.cancelled == 6
    assert result.overall.count == 0
    assert result.measured_seconds < 60, "the run went on long after its stop event was set"


def test_the_duration_bounds_a_closed_run(target: str) -> None:
    result = run_load(
        target,
        _profile(
            users=4,
            duration_seconds=1.5,
            max_requests=1_000_000,
            think_min_seconds=0.01,
            think_max_seconds=0.02,
            bucket_seconds=0.5,
        ),
        _one_step("/delay?ms=5", think_after=True),
    )

    assert result.stop_reason is StopReason.DURATION
    assert result.measured_seconds >= 1.5
    assert result.overall.count > 0
    assert sum(bucket.requests for bucket in result.series) == result.overall.count
    assert sum(bucket.errors for bucket in result.series) == 0
    starts = [bucket.start_seconds for bucket in result.series]
    assert starts[:3] == [0.0, 0.5, 1.0]
    assert max(bucket.active_users for bucket in result.series[:2]) == 4


def test_warmup_requests_stay_out_of_the_summary(target: str) -> None:
    result = run_load(
        target,
        _profile(users=2, duration_seconds=1.6, warmup_seconds=0.8, max_requests=100_000),
        _one_step("/delay?ms=20"),
    )

    in_series = sum(bucket.requests for bucket in result.series)
    assert 0 < result.overall.count < in_series
    assert 0.79 <= result.measured_seconds < 10


def test_open_model_measures_from_the_intended_send_time(target: str) -> None:
    # One slot, 50 arrivals per second, 100 ms answers: arrivals queue, and the queueing must
    # show in the latency (the k-th arrival waits about k * 80 ms before it is even sent).
    open_result = run_load(
        target,
        _profile(users=1, arrival_rate=50, max_requests=15),
        _one_step("/delay?ms=100"),
    )
    closed_result = run_load(target, _profile(users=1, max_requests=15), _one_step("/delay?ms=100"))

    assert open_result.stop_reason is StopReason.MAX_REQUESTS
    assert open_result.overall.count == 15
    open_max = open_result.overall.latency.max_ms
    closed_p50 = closed_result.overall.latency.p50_ms
    assert open_max is not None and closed_p50 is not None
    assert open_max >= 100 + 10 * 80, "the open model hid the queueing delay"
    assert closed_p50 >= 99.9


def test_progress_is_reported_during_the_run(target: str) -> None:
    reports: list[LoadProgress] = []
    run_load(
        target,
        _profile(
            users=3, duration_seconds=2.0, max_requests=100_000, progress_interval_seconds=0.4
        ),
        _one_step("/delay?ms=10"),
        progress=reports.append,
    )

    assert len(reports) >= 2
    assert all(a.requests <= b.requests for a, b in itertools.pairwise(reports))
    assert reports[-1].requests > 0
    assert reports[-1].interval_p95_ms is not None and reports[-1].interval_p95_ms >= 9.9


def test_a_broken_scenario_raises_a_run_error(target: str) -> None:
    def broken(_: object) -> dict:
        raise RuntimeError("no body today")

    scenario = _one_step("/delay", method="POST", json_body=broken)
    with pytest.raises(RunError, match="no body today"):
        run_load(target, _profile(), scenario)


def test_a_bad_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"base_url '127\.0\.0\.1:8080' is not an http"):
        run_load("127.0.0.1:8080", _profile(), _one_step("/"))


def test_saturation_is_the_last_step_within_the_slo(target: str) -> None:
    # One connection for every user: requests queue in the client, so each added user adds one
    # 300 ms answer to everyone's latency (2 users ~600 ms, 3 users >= 900 ms). The short think
    # time lets a waiting user take the connection (aiohttp's pool is not first-come first-served).
    base = LoadProfileConfig(
        users=1,
        duration_seconds=1,
        connection_limit=1,
        think_min_seconds=0.005,
        think_max_seconds=0.01,
    )
    ramp = StressRampConfig(
        base=base,
        start_users=1,
        step_users=1,
        max_users=4,
        step_seconds=1.2,
        step_warmup_seconds=0.5,
    )

    result = find_saturation(
        target, ramp, _one_step("/delay?ms=300", think_after=True), LatencySloConfig(p95_ms=800)
    )

    assert [step.users for step in result.steps] == [1, 2, 3]
    assert [step.within_slo for step in result.steps] == [True, True, False]
    assert result.saturation_users == 2
    assert result.breaking_users == 3
    assert not result.ceiling_reached
    assert "p95 over the limit" in result.steps[-1].reason


def test_a_run_leaves_no_task_and_no_socket_behind(target: str) -> None:
    port = int(target.rsplit(":", 1)[1])

    async def run_and_look() -> tuple[int, int]:
        await run_load_async(
            target,
            _profile(users=30, max_requests=300, keepalive_seconds=60),
            _one_step("/delay?ms=2"),
        )
        await asyncio.sleep(0)  # let closed transports finish their callbacks
        others = {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
        sockets = [
            c
            for c in psutil.Process().net_connections(kind="tcp")
            if c.raddr and c.raddr.port == port
        ]
        return len(others), len(sockets)

    leftover_tasks, open_sockets = asyncio.run(run_and_look())

    assert leftover_tasks == 0
    assert open_sockets == 0


def test_shards_in_separate_processes_merge_into_one_exact_result(target: str) -> None:
    before = _server_stats(target)["received"].get("/delay", 0)

    result = run_load_sharded(
        target,
        _profile(users=9, max_requests=301),
        lambda shard: Scenario(
            name="sharded", steps=(Step(name="only", path=f"/delay?ms={shard + 1}"),)
        ),
        shards=2,
    )

    assert result.shards == 2
    assert result.users == 9
    assert result.overall.count == 301
    assert _server_stats(target)["received"]["/delay"] - before == 301
    # Shard 1 sleeps 2 ms on the server's millisecond timer: at least 1 ms, so the merged
    # histogram holds it.
    assert result.requests["only"].latency.max_ms is not None
    assert result.requests["only"].latency.max_ms >= 1.0
