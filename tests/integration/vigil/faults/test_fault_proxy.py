"""vigil's TCP fault proxy on its own, against real local servers, and its network faults."""

from __future__ import annotations

import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vigil.faults import inject, revert_journalled_faults
from vigil.faults.base import FaultContext
from vigil.faults.config import (
    NetworkBandwidthConfig,
    NetworkBlackholeConfig,
    NetworkLatencyConfig,
    NetworkRefuseConfig,
    NetworkResetConfig,
)
from vigil.faults.proxy import FaultProxy, ProxyFault
from vigil.store import Store
from vigil.targets.base import TargetEndpoint, free_port

pytestmark = pytest.mark.integration

SERVER = Path(__file__).with_name("plain_server.py")
HOLDER = Path(__file__).with_name("fault_holder.py")
REPO = Path(__file__).resolve().parents[4]


class Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetEndpoint]:
    port = free_port()
    folder = tmp_path_factory.mktemp("plain")
    process = subprocess.Popen([sys.executable, str(SERVER), str(port), str(folder / "pid")])
    endpoint = TargetEndpoint(name="plain", kind="http", base_url=f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(endpoint.base_url + "/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield endpoint
    process.terminate()
    process.wait(10)


@pytest.fixture()
def echo_proxy(echo_port: int) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", echo_port) as proxy:
        yield proxy


def round_trip(port: int, payload: bytes, timeout: float = 5.0) -> tuple[bytes, float]:
    began = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    return got, time.perf_counter() - began


def test_without_a_fault_bytes_pass_unchanged(echo_proxy: FaultProxy) -> None:
    payload = bytes(range(256)) * 4000
    got, _ = round_trip(echo_proxy.port, payload)
    assert got == payload


def test_latency_and_jitter_delay_each_direction(echo_proxy: FaultProxy) -> None:
    echo_proxy.set_fault(ProxyFault(latency_ms=100, jitter_ms=50))
    got, took = round_trip(echo_proxy.port, b"ping")
    assert got == b"ping"
    assert took >= 0.2  # one delay each way
    echo_proxy.clear()
    _, quick = round_trip(echo_proxy.port, b"ping")
    assert quick < 0.1


def test_bandwidth_paces_the_bytes(echo_proxy: FaultProxy) -> None:
    echo_proxy.set_fault(ProxyFault(bytes_per_s=100_000))
    payload = b"x" * 50_000
    got, took = round_trip(echo_proxy.port, payload)
    assert got == payload
    assert took >= 0.45  # 50 kB each way at 100 kB/s, the two directions overlapping


def test_reset_resets_new_and_open_connections(echo_proxy: FaultProxy) -> None:
    held = socket.create_connection(("127.0.0.1", echo_proxy.port), timeout=5)
    held.sendall(b"a")
    assert held.recv(10) == b"a"
    echo_proxy.set_fault(ProxyFault(reset=True))
    time.sleep(0.1)
    with pytest.raises(ConnectionResetError):
        held.recv(10)
    held.close()
    with pytest.raises(ConnectionResetError):
        round_trip(echo_proxy.port, b"hello")


def test_blackhole_accepts_and_never_answers(echo_proxy: FaultProxy) -> None:
    echo_proxy.set_fault(ProxyFault(blackhole=True))
    with socket.create_connection(("127.0.0.1", echo_proxy.port), timeout=0.5) as sock:
        sock.sendall(b"anyone?")
        with pytest.raises(TimeoutError):
            sock.recv(10)


def test_refuse_closes_the_port_and_clearing_reopens_it(echo_proxy: FaultProxy) -> None:
    echo_proxy.set_fault(ProxyFault(refuse=True))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", echo_proxy.port), timeout=1)
    echo_proxy.clear()
    assert round_trip(echo_proxy.port, b"back")[0] == b"back"


@pytest.mark.parametrize(
    "config",
    [
        NetworkLatencyConfig(latency_ms=150),
        NetworkBandwidthConfig(bytes_per_s=1000),
        NetworkResetConfig(),
        NetworkBlackholeConfig(),
        NetworkRefuseConfig(),
    ],
    ids=lambda c: c.kind,
)
def test_each_network_fault_takes_effect_and_its_rollback_holds(
    http_server: TargetEndpoint,
    config,
    tmp_path: Path,
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    with FaultProxy.for_endpoint(http_server) as proxy:
        fault = inject(config, FaultContext(http_server, proxy=proxy, store=store))
        effect = fault.effect()
        assert effect.ok, effect.detail
        assert [e.proxy_port for e in store.active_faults()] == [proxy.port]
        assert fault.rollback() is True
        held = fault.rollback_held()
        assert held.ok, held.detail
        assert store.active_faults() == []


def test_a_network_fault_without_a_proxy_is_refused_by_name(http_server: TargetEndpoint) -> None:
    from vigil.errors import TargetUnavailableError

    with pytest.raises(TargetUnavailableError, match="need vigil's fault proxy"):
        inject(NetworkBlackholeConfig(), FaultContext(http_server))


def test_sigkilled_vigil_in_a_network_fault_leaves_the_target_working(
    http_server: TargetEndpoint, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    holder = subprocess.Popen(
        [sys.executable, str(HOLDER), url, http_server.base_url, "-", "network_blackhole", "sleep"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = holder.stdout.readline()
        assert line.startswith("injected "), line
        port = int(line.split()[1])
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5)
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    finally:
        if holder.poll() is None:
            holder.kill()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from vigil.store import Store; "
            "from vigil.faults import revert_journalled_faults; "
            "print(revert_journalled_faults(Store.open(sys.argv[1])))",
            url,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"the proxy on port {port} ended with the vigil process" in done.stdout
    assert httpx.get(http_server.base_url + "/health", timeout=2).json()["status"] == "ok"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
    assert Store.open(url).active_faults() == []
    assert revert_journalled_faults(Store.open(url)) == []
