"""The reference service on PostgreSQL: persistence and a real database outage."""

from __future__ import annotations

import contextlib
import random
import select
import socket
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.postgres

HEALING_ARGS = ("--check-interval-s", "0.2", "--db-probe-timeout-s", "1")


def wait_until(what: str, probe, timeout_s: float = 45.0):
    """Poll `probe` until truthy (bounded); transport resets count as not yet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = probe()
        except httpx.TransportError:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def label(service, n: int, rng: random.Random) -> int:
    """n predictions each labelled; returns how many labels were acknowledged (202)."""
    acknowledged = 0
    for _ in range(n):
        x = {"a": rng.gauss(0, 1), "kind": rng.choice(["p", "q"])}
        rid = service.client.post("/predict", json={"features": x}).json()["request_id"]
        response = service.client.post(
            "/feedback", json={"request_id": rid, "label": int(x["a"] > 0)}
        )
        assert response.status_code == 202, response.text
        acknowledged += 1
    return acknowledged


def feedback_rows(url: str) -> int:
    """Feedback rows in the service's database, counted directly."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM feedback")).scalar_one()
    finally:
        engine.dispose()


def set_connections_allowed(admin_url: str, database: str, allowed: bool) -> None:
    """Open or close a database to new connections; closing also ends the open ones."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(
                sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
            )
            if not allowed:
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": database},
                )
    finally:
        engine.dispose()


def test_service_persists_to_postgres_and_survives_an_outage(postgres_url, service_factory):
    service = service_factory("--database-url", postgres_url, *HEALING_ARGS, name="postgres")
    health = service.health()
    assert health["components"]["database"]["backend"] == "postgresql"
    rng = random.Random(17)
    acknowledged = label(service, 40, rng)
    assert feedback_rows(postgres_url) == acknowledged
    evaluation = service.client.get("/evaluation").json()
    assert evaluation["total"]["count"] == acknowledged

    def learned() -> bool:
        scores = [
            service.client.post("/predict", json={"features": {"a": a, "kind": "p"}}).json()[
                "score"
            ]
            for a in (2.0, -2.0)
        ]
        return scores[0] > 0.6 and scores[1] < 0.4

    # Workers learn PostgreSQL feedback once it has settled (a couple of seconds).
    wait_until("the model to learn the labels", learned)

    url = sa.engine.make_url(postgres_url)
    admin_url = url.set(database="postgres").render_as_string(hide_password=False)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    set_connections_allowed(admin_url, url.database, False)
    try:
        wait_until("degraded health", lambda: service.health()["status"] == "degraded")
        acknowledged += label(service, 30, rng)
    finally:
        set_connections_allowed(admin_url, url.database, True)

    def recovered():
        for item in service.client.get("/incidents", params={"since": since}).json()["incidents"]:
            if item["kind"] == "database_unavailable" and item["recovered_at"]:
                return item
        return None

    incident = wait_until("a recovered database_unavailable incident", recovered)
    assert incident["action"] == "degraded_mode"
    assert incident["evidence"]["backend"] == "postgresql"
    assert incident["evidence"]["recovery_action"] == "replay_buffer"
    wait_until(
        "every acknowledged label in PostgreSQL",
        lambda: feedback_rows(postgres_url) == acknowledged,
    )
    wait_until("health ok", lambda: service.health()["status"] == "ok")
    assert service.client.get("/evaluation").json()["total"]["count"] == acknowledged

    # Backup and restore on PostgreSQL, then keep labelling: restored ids must
    # not collide with the ones generated afterwards.
    auth = service.admin()
    backup = service.client.post("/admin/backup", headers=auth).json()
    assert backup["feedback_count"] == acknowledged
    label(service, 5, rng)
    restored = service.client.post(
        "/admin/restore", json={"backup_id": backup["backup_id"]}, headers=auth
    )
    assert restored.status_code == 200, restored.text
    assert feedback_rows(postgres_url) == acknowledged
    label(service, 5, rng)
    assert feedback_rows(postgres_url) == acknowledged + 5


class FreezableProxy:
    """A TCP relay to PostgreSQL that can stop relaying while keeping connections open.

    Frozen, it is a database that never answers: no error, no closed socket,
    like a stopped server or a paused container.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.frozen = threading.Event()
        self.stopped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            upstream = socket.create_connection(self.target, timeout=5)
            self.sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while not self.stopped.is_set():
            if self.frozen.is_set():
                time.sleep(0.05)
                continue
            ready, _, _ = select.select([src], [], [], 0.1)
            if not ready:
                continue
            try:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            except OSError:
                break
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        """Stop relaying and close every socket."""
        self.stopped.set()
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


def test_frozen_database_is_detected_and_nothing_acknowledged_is_lost(
    postgres_url, service_factory
):
    url = sa.engine.make_url(postgres_url)
    proxy = FreezableProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        service = service_factory("--database-url", via_proxy, *HEALING_ARGS, name="frozen")
        rng = random.Random(23)
        acknowledged = label(service, 20, rng)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
        proxy.frozen.set()
        try:
            acknowledged += label(service, 20, rng)
            wait_until("degraded health", lambda: service.health()["status"] == "degraded")
            acknowledged += label(service, 10, rng)
        finally:
            proxy.frozen.clear()

        def recovered():
            body = service.client.get("/incidents", params={"since": since}).json()
            for item in body["incidents"]:
                if item["kind"] == "database_unavailable" and item["recovered_at"]:
                    return item
            return None

        incident = wait_until("a recovered database_unavailable incident", recovered, 90)
        assert incident["action"] == "degraded_mode"
        wait_until(
            "every acknowledged label in PostgreSQL",
            lambda: feedback_rows(postgres_url) == acknowledged,
        )
    finally:
        proxy.close()
