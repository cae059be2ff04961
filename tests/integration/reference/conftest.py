"""Fixtures that run the reference service as a real process on a free port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
ADMIN_TOKEN = "test-admin-token"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ReferenceService:
    """A running ``python -m reference`` and an HTTP client for it."""

    process: subprocess.Popen
    port: int
    data_dir: Path
    log_path: Path
    client: httpx.Client
    known_pids: set[int] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.port}"

    def admin(self) -> dict[str, str]:
        """Headers that authenticate an admin call."""
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def health(self) -> dict:
        """The current /health body."""
        return self.client.get("/health").json()

    def log_tail(self, lines: int = 60) -> str:
        """The end of the service's stderr, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def remember_tree(self) -> None:
        """Note every process of the service so stop() can reap them all."""
        try:
            parent = psutil.Process(self.process.pid)
            self.known_pids.update(p.pid for p in parent.children(recursive=True))
        except psutil.NoSuchProcess:
            pass


def start_service(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, port: int | None = None
) -> ReferenceService:
    """Start the service (on `port`, or a free one) and wait until /health answers 200."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = data_dir / "service.log"
    environment = {**os.environ, "REFERENCE_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})}
    command = [
        sys.executable,
        "-m",
        "reference",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--log-level",
        "info",
        *args,
    ]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    service = ReferenceService(
        process,
        port,
        data_dir,
        log_path,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15),
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"service exited with {process.returncode}:\n{service.log_tail()}"
                )
            try:
                if service.client.get("/health", timeout=2).status_code == 200:
                    service.remember_tree()
                    return service
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"service not healthy after {START_TIMEOUT_S} s:\n{service.log_tail()}")
    except BaseException:
        stop_service(service)
        raise


def stop_service(service: ReferenceService) -> int | None:
    """SIGTERM the supervisor, wait, then kill anything of its tree still alive."""
    service.remember_tree()
    process = service.process
    code = None
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        code = process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    finally:
        for pid in service.known_pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
        service.client.close()
    return code


@pytest.fixture(scope="session")
def reference_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceService]:
    """One service shared by the tests that only talk to it through the contract."""
    service = start_service(tmp_path_factory.mktemp("reference-shared"))
    try:
        yield service
    finally:
        stop_service(service)


@pytest.fixture()
def service_factory(tmp_path: Path) -> Iterator:
    """Start dedicated services (e.g. with tight healing bounds); all stopped afterwards."""
    started: list[ReferenceService] = []

    def start(
        *args: str, name: str = "svc", env: dict[str, str] | None = None, port: int | None = None
    ) -> ReferenceService:
        service = start_service(tmp_path / f"{name}-{len(started)}", *args, env=env, port=port)
        started.append(service)
        return service

    start.stop = stop_service  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for service in started:
            stop_service(service)


HEALING_ARGS = (
    "--check-interval-s", "0.2",
    "--hang-timeout-s", "1.5",
    "--max-worker-rss-mb", "450",
    "--error-rate-window-s", "2",
    "--error-rate-min-requests", "10",
    "--regression-window", "30",
    "--db-probe-timeout-s", "0.5",
)  # fmt: skip
"""Tight detection bounds so each self-healing test takes seconds."""


@pytest.fixture(scope="module")
def healing_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceService]:
    """A service with tight healing bounds, shared by one test module."""
    service = start_service(tmp_path_factory.mktemp("reference-healing"), *HEALING_ARGS)
    try:
        yield service
    finally:
        stop_service(service)
