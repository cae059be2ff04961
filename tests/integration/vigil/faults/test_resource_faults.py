"""Resource faults for real: burners, a memory balloon, a descriptor hoard, a disk filler."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from vigil.errors import ConfigError
from vigil.faults import inject, revert_journalled_faults
from vigil.faults.base import FaultContext
from vigil.faults.config import (
    CpuBurnConfig,
    DiskFillConfig,
    FdExhaustionConfig,
    MemoryBalloonConfig,
)
from vigil.store import Store
from vigil.targets.base import TargetEndpoint

pytestmark = pytest.mark.integration

NOWHERE = TargetEndpoint(name="none", kind="http", base_url="http://127.0.0.1:9")


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")


@pytest.mark.parametrize(
    "config",
    [
        CpuBurnConfig(processes=1, max_duration_s=10),
        MemoryBalloonConfig(megabytes=64, max_duration_s=10),
        FdExhaustionConfig(descriptors=500, max_duration_s=10),
    ],
    ids=lambda c: c.kind,
)
def test_child_process_faults_hold_the_resource_until_rolled_back(
    store: Store,
    config,
) -> None:
    fault = inject(config, FaultContext(NOWHERE, store=store))
    effect = fault.effect()
    assert effect.ok, effect.detail
    pids = [child.pid for child in fault.children]  # type: ignore[attr-defined]
    assert [p["pid"] for p in store.active_faults()[0].pids] == pids
    assert fault.rollback() is True
    held = fault.rollback_held()
    assert held.ok, held.detail
    assert not any(psutil.pid_exists(pid) for pid in pids)
    assert store.active_faults() == []


def test_a_balloon_left_by_a_dead_vigil_is_killed_from_the_journal(store: Store) -> None:
    fault = inject(
        MemoryBalloonConfig(megabytes=16, max_duration_s=60), FaultContext(NOWHERE, store=store)
    )
    fault._timer.cancel()  # type: ignore[union-attr] -- as if vigil had died mid-fault
    [entry] = store.active_faults()
    entry.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    store.journal_fault(entry)
    pid = entry.pids[0]["pid"]
    [line] = revert_journalled_faults(store)
    assert f"killed pid [{pid}]" in line
    child = fault.children[0]  # type: ignore[attr-defined]
    assert child.wait(10) == -signal.SIGKILL
    assert store.active_faults() == []
    assert fault.rollback() is False  # this process's handle finds nothing left to undo


def test_disk_fill_writes_only_inside_the_named_directory_and_deletes_its_file(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "fill-here"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    fault = inject(
        DiskFillConfig(directory=folder, megabytes=5), FaultContext(NOWHERE, store=store)
    )
    assert fault.effect().ok
    [filler] = [p for p in folder.iterdir() if p.name != "keep.txt"]
    assert filler.name.startswith("vigil-disk-fill-") and filler.stat().st_size == 5 * 1_048_576
    assert store.active_faults()[0].detail == {"path": str(filler)}
    fault.rollback()
    assert fault.rollback_held().ok
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_disk_fill_refuses_a_directory_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; disk_fill writes only inside"):
        inject(DiskFillConfig(directory=tmp_path / "absent"), FaultContext(NOWHERE))
