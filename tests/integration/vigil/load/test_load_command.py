"""``vigil load`` as a user runs it: a real process against the load target server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from vigil.load.statistics import decode_histogram

from .conftest import server_stats

pytestmark = pytest.mark.integration

COMMAND_TIMEOUT_SECONDS = 60
JSON_KEYS = {
    "requests",
    "errors",
    "throughput_rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "late_sends",
    "dropped_sends",
}


def _vigil_load(*args: str, importtime: bool = False) -> subprocess.CompletedProcess[str]:
    prefix = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "vigil.cli"]
    return subprocess.run(
        [*prefix, "load", *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )


def test_json_output_parses_and_carries_the_keys_without_prefect_or_gx(target: str) -> None:
    before = server_stats(target)["received"].get("/delay", 0)

    done = _vigil_load(
        f"{target}/delay?ms=1", "--users", "4", "--max-requests", "120", "--json", importtime=True
    )

    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary.keys() >= JSON_KEYS
    assert summary["requests"] == 120 == server_stats(target)["received"]["/delay"] - before
    assert summary["errors"] == 0 and summary["dropped_sends"] == 0
    assert summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    heavy = [name for name in imported if name.split(".")[0] in ("prefect", "great_expectations")]
    assert heavy == [], f"vigil load imported {heavy[:5]}"


def test_a_non_loopback_host_is_refused_with_exit_2() -> None:
    done = _vigil_load("http://192.0.2.10:8080/", "--duration", "1")

    assert done.returncode == 2
    assert "refusing to send load to '192.0.2.10'" in done.stderr
    assert "allow_hosts" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--users", "0"], "users: Input should be greater than or equal to 1"),
        (["--users", "2", "--rate", "5"], "not allowed with argument"),
        (["--duration", "0"], "duration_seconds: Input should be greater than 0"),
        (["--workers", "3", "--users", "2"], "--workers (3) exceeds the users (2)"),
        (["--body", "{not json"], "--body is not JSON"),
        (["--in-flight", "5"], "--in-flight applies to the open model only"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    target: str, args: list[str], message: str
) -> None:
    done = _vigil_load(f"{target}/ok", *args)

    assert done.returncode == 2
    assert message in done.stderr


def test_a_bad_url_exits_2() -> None:
    done = _vigil_load("ftp://127.0.0.1/file")
    assert done.returncode == 2
    assert "is not an http(s) URL" in done.stderr


def test_workers_merge_their_histograms_exactly(target: str) -> None:
    before = server_stats(target)["received"].get("/delay", 0)

    done = _vigil_load(
        f"{target}/delay?ms=1",
        "--users",
        "6",
        "--workers",
        "2",
        "--max-requests",
        "301",
        "--json",
    )

    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["workers"] == 2
    assert summary["requests"] == 301 == server_stats(target)["received"]["/delay"] - before
    assert decode_histogram(summary["histogram"]).get_total_count() == 301


def test_the_duration_bounds_the_run_and_progress_is_printed(target: str) -> None:
    began = time.monotonic()
    done = _vigil_load(f"{target}/delay?ms=2", "--users", "3", "--duration", "2.5", "--progress")
    took = time.monotonic() - began

    assert done.returncode == 0, done.stderr[-2000:]
    assert took < 20, f"a 2.5 s run took {took:.1f} s"
    progress = [line for line in done.stderr.splitlines() if "req/s" in line]
    assert len(progress) >= 2, done.stderr
    assert "p95" in progress[-1] and "errors 0" in progress[-1]
    assert "stopped by duration" in done.stdout
    assert "Requests/sec:" in done.stdout


def test_the_open_model_reports_its_sends(target: str) -> None:
    done = _vigil_load(
        f"{target}/delay?ms=300", "--rate", "40", "--in-flight", "2", "--duration", "1", "--json"
    )

    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["model"] == "open"
    assert summary["late_sends"] > 0
    assert summary["late_sends"] + summary["dropped_sends"] + 2 == 40
