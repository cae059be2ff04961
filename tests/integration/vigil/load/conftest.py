"""Fixtures of the load engine's integration tests: the load target server as a real process."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER = Path(__file__).with_name("load_target_server.py")
START_TIMEOUT_SECONDS = 15.0


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    """Base URL of a freshly started load target server, stopped by pid afterwards."""
    process = subprocess.Popen(
        [sys.executable, str(SERVER)], stdout=subprocess.PIPE, text=True, close_fds=True
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_SECONDS)
        assert ready, f"the load target server printed no port within {START_TIMEOUT_SECONDS} s"
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("PORT "), f"unexpected first line from the server: {line!r}"
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def server_stats(base_url: str) -> dict[str, dict[str, int]]:
    """What the load target server received, by path, and the labels fed back to it."""
    with urllib.request.urlopen(f"{base_url}/stats", timeout=5) as answer:
        return json.load(answer)
