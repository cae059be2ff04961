"""Container faults on a real Docker engine: kill, stop, pause, restart, and the journal.

The container runs a small HTTP server from the host's Python (bind-mounted read-only)
in an image imported locally from an empty root file system: no registry is contacted.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.vigil.targets.test_docker_target import (  # noqa: F401 -- fixtures
    docker_client,
    host_mounts,
    host_python_image,
)
from vigil.config import DockerTargetConfig
from vigil.faults import inject, revert_journalled_faults
from vigil.faults.base import FaultContext
from vigil.faults.config import (
    ContainerKillConfig,
    ContainerPauseConfig,
    ContainerRestartConfig,
    ContainerStopConfig,
)
from vigil.store import Store
from vigil.targets import open_target
from vigil.targets.docker import DockerTarget

pytestmark = [pytest.mark.integration, pytest.mark.docker]

SERVER = Path(__file__).with_name("plain_server.py")


@pytest.fixture()
def container_target(host_python_image: str, tmp_path: Path) -> Iterator[DockerTarget]:  # noqa: F811
    config = DockerTargetConfig(
        name="plain-in-docker",
        image=host_python_image,
        command=[sys.executable, str(SERVER), "{port}", "{workdir}/plain.pid"],
        mounts=host_mounts(),
        startup_timeout_s=60,
        stop_timeout_s=2,
    )
    target = open_target(config, tmp_path / "work")
    assert isinstance(target, DockerTarget)
    with target:
        yield target


@pytest.mark.parametrize(
    ("config", "broken"),
    [
        (ContainerKillConfig(), "exited"),
        (ContainerStopConfig(timeout_s=1), "exited"),
        (ContainerPauseConfig(), "paused"),
        (ContainerRestartConfig(timeout_s=1), None),
    ],
    ids=lambda v: getattr(v, "kind", str(v)),
)
def test_each_container_fault_takes_effect_and_its_rollback_holds(
    container_target: DockerTarget,
    tmp_path: Path,
    config,
    broken,
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    context = FaultContext(container_target.endpoint, container_target, store=store)
    fault = inject(config, context)
    effect = fault.effect()
    assert effect.ok, effect.detail
    if broken is not None:
        container_target.container.reload()
        assert container_target.container.status == broken
        assert [e.container_id for e in store.active_faults()] == [container_target.container.id]
    fault.rollback()
    held = fault.rollback_held()
    assert held.ok, held.detail
    container_target.container.reload()
    assert container_target.container.status == "running"
    assert store.active_faults() == []


def test_a_paused_container_left_by_a_dead_vigil_is_unpaused_from_the_journal(
    container_target: DockerTarget, tmp_path: Path
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    fault = inject(
        ContainerPauseConfig(max_duration_s=300),
        FaultContext(container_target.endpoint, container_target, store=store),
    )
    assert fault.effect().ok
    fault._timer.cancel()  # type: ignore[union-attr] -- as if vigil had died: no timer, no finally
    [entry] = store.active_faults()
    entry.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    store.journal_fault(entry)
    done = revert_journalled_faults(store)
    assert len(done) == 1 and "brought back" in done[0]
    container_target.container.reload()
    assert container_target.container.status == "running"
    assert store.active_faults() == []
    assert fault.rollback() is False  # this process's handle finds nothing left to undo
