"""A PostgreSQL outage made by vigil's fault proxy between the reference and its database."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.integration.vigil.faults.targets import launched_reference
from vigil.faults import inject
from vigil.faults.base import FaultContext
from vigil.faults.config import DatabaseRefuseConfig
from vigil.faults.proxy import FaultProxy
from vigil.targets.client import TargetClient

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_refused_database_connections_are_diagnosed_and_nothing_acknowledged_is_lost(
    postgres_url: str, tmp_path: Path
) -> None:
    url = sa.engine.make_url(postgres_url)
    with FaultProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with launched_reference(
            tmp_path / "target",
            "--database-url",
            proxied,
            "--check-interval-s",
            "0.2",
            "--db-probe-timeout-s",
            "0.5",
        ) as target:
            context = FaultContext(endpoint=target.endpoint, target=target, dependency_proxy=proxy)
            with TargetClient(target.endpoint, timeout_s=10) as client:
                acknowledged = 0

                def label() -> None:
                    nonlocal acknowledged
                    prediction = client.predict({"x0": 1.0, "x1": 2.0, "x2": 3.0})
                    client.feedback(prediction.request_id, 1)
                    acknowledged += 1

                for _ in range(5):
                    label()
                since = datetime.now(UTC)
                fault = inject(DatabaseRefuseConfig(max_duration_s=60), context)
                try:
                    effect = fault.effect()
                    assert effect.ok, effect.detail
                    deadline = time.monotonic() + 30
                    kinds: list[str] = []
                    while "database_unavailable" not in kinds and time.monotonic() < deadline:
                        label()  # buffered by the reference while its database is away
                        kinds = [i.kind for i in client.incidents(since)]
                        time.sleep(0.3)
                    assert "database_unavailable" in kinds
                finally:
                    assert fault.rollback() is True
                held = fault.rollback_held()
                assert held.ok, held.detail
                deadline = time.monotonic() + 45
                while time.monotonic() < deadline:
                    outage = [
                        i for i in client.incidents(since) if i.kind == "database_unavailable"
                    ]
                    if (
                        outage
                        and outage[0].recovered_at
                        and (client.evaluation().total.count == acknowledged)
                    ):
                        break
                    time.sleep(0.3)
                assert outage[0].recovered_at is not None
                assert client.evaluation().total.count == acknowledged
