"""One real ``prefect server start`` and one real process worker for the whole session.

The server has its own ``PREFECT_HOME`` in a temporary folder and listens on a free port of
127.0.0.1; the worker is started from an empty folder (a "clean worker": no checkout, no
``VIGIL_PROJECT_DIR``), so a run only finds the code through the deployment's pull step.
Every command goes through the real CLI with an environment that names this server alone.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")
POOL = "vigil-local"
STARTUP_TIMEOUT_S = 180
HTTP_TIMEOUT_S = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen[bytes], grace_s: float = 20) -> None:
    """SIGTERM the process group, then SIGKILL what is left after the grace period."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace_s)
    except ProcessLookupError:
        pass


@dataclass
class PrefectServer:
    """A running server, the environment that points at it, and small helpers."""

    api_url: str
    env: dict[str, str]
    home: Path
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(
        self, *args: str, cwd: Path = REPO, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``prefect <args>`` against this server; return what it printed."""
        done = subprocess.run(
            [PREFECT, *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"prefect {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request to the server's REST API; the decoded JSON answer."""
        response = httpx.request(method, f"{self.api_url}{path}", timeout=HTTP_TIMEOUT_S, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def flow_runs(self, deployment_id: str) -> list[dict[str, Any]]:
        """Every flow run of a deployment."""
        return self.api(
            "POST",
            "/flow_runs/filter",
            json={"deployments": {"id": {"any_": [deployment_id]}}, "limit": 200},
        )

    def deployment(self, name: str) -> dict[str, Any]:
        """The deployment called ``flow/deployment``."""
        return self.api("GET", f"/deployments/name/{name}")

    def artifacts(self, flow_run_id: str) -> list[dict[str, Any]]:
        """The artifacts a flow run created (its tasks' included)."""
        return self.api(
            "POST",
            "/artifacts/filter",
            json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}},
        )

    def tail(self, lines: int = 60) -> str:
        """The end of the server's and the worker's logs, for assertion messages."""
        out = []
        for log in sorted(self.logs.glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)


def _environment(home: Path, api_url: str) -> dict[str, str]:
    # Nothing of the calling shell's Prefect profile may leak in: this server only.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "PREFECT_HOME": str(home),
            "PREFECT_PROFILES_PATH": str(home / "profiles.toml"),
            "PREFECT_API_URL": api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            # Short loops so that a test sees scheduled runs and their pickup in seconds.
            "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
            "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "3",
            # Without these two, `prefect deployment run --watch` shows state changes only,
            # never the run's log lines (Prefect's defaults are off).
            "PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED": "true",
            "PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED": "true",
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            "PREFECT_CLI_PROMPT": "false",
            "PREFECT_CLI_WRAP_LINES": "false",
            "COLUMNS": "200",
        }
    )
    env.pop("VIGIL_PROJECT_DIR", None)
    env.pop("VIGIL_DATABASE_URL", None)
    return env


def _wait_healthy(server: PrefectServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"prefect server exited {process.returncode}\n{server.tail()}")
        try:
            if httpx.get(f"{server.api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"prefect server not healthy in {STARTUP_TIMEOUT_S}s\n{server.tail()}")


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """``prefect server start`` on 127.0.0.1, the work pool, every deployment, one worker."""
    root = tmp_path_factory.mktemp("prefect-server")
    home, logs, worker_dir = root / "home", root / "logs", root / "worker"
    for folder in (home, logs, worker_dir):
        folder.mkdir()
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    server = PrefectServer(api_url=api_url, env=_environment(home, api_url), home=home, logs=logs)
    started = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root,
        env=server.env,
        stdout=(logs / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server.processes.append(started)
    try:
        _wait_healthy(server, started)
        server.cli("work-pool", "create", POOL, "--type", "process", cwd=root)
        server.cli("deploy", "--all", "--prefect-file", "deployments/prefect.yaml")
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", POOL, "--name", "test-worker"],
            cwd=worker_dir,
            env=server.env,
            stdout=(logs / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server.processes.append(worker)
        yield server
    finally:
        for process in reversed(server.processes):
            _stop(process)
