"""Old target folders go, on real stores; nothing a run or a resumable soak needs goes with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.criteria import Verdict
from vigil.retention import prune_target_dirs
from vigil.store import RunStatus, SoakCheckpoints, SoakStatus, Store

pytestmark = pytest.mark.integration


def make_run(store: Store, targets: Path, run_id: str, status: RunStatus | None) -> Path:
    store.begin_run(run_id, profile="development", seed=0, config={})
    if status is not None:
        verdict = Verdict.PASSED if status is RunStatus.COMPLETED else None
        store.finish_run(run_id, status=status, verdict=verdict)
    folder = targets / run_id
    folder.mkdir(parents=True)
    (folder / "target.log").write_text("the service's output\n")
    return folder


def make_soak(store: Store, targets: Path, soak_id: str, status: SoakStatus) -> Path:
    folder = make_run(store, targets, soak_id, RunStatus.INCOMPLETE)
    soaks = SoakCheckpoints(store)
    soaks.begin_or_resume(
        soak_id, run_id=soak_id, profile="development", config={}, planned_cycles=3
    )
    soaks.finish(soak_id, status)
    if status is SoakStatus.COMPLETED:
        store.finish_run(soak_id, status=RunStatus.COMPLETED, verdict=Verdict.PASSED)
    return folder


def test_only_finished_runs_beyond_the_newest_are_removed(store: Store, tmp_path: Path) -> None:
    targets = tmp_path / "work" / "targets"
    oldest = make_run(store, targets, "r1-completed", RunStatus.COMPLETED)
    interrupted = make_run(store, targets, "r2-incomplete", RunStatus.INCOMPLETE)
    errored = make_run(store, targets, "r3-error", RunStatus.ERROR)
    running = make_run(store, targets, "r4-running", None)
    resumable = make_soak(store, targets, "s1-interrupted", SoakStatus.INTERRUPTED)
    soaked = make_soak(store, targets, "s2-completed", SoakStatus.COMPLETED)
    newest = make_run(store, targets, "r5-completed", RunStatus.COMPLETED)
    current = make_run(store, targets, "r6-current", None)
    stranger = targets / "not-a-run-of-this-store"
    stranger.mkdir()
    (targets / "notes.txt").write_text("a file, not a target folder\n")

    removed = prune_target_dirs(targets, store, keep=2, current=current.name)

    assert sorted(removed) == sorted([oldest, interrupted, errored])
    kept = {running, resumable, soaked, newest, current, stranger, targets / "notes.txt"}
    assert set(targets.iterdir()) == kept
    # Nothing more goes on a second pass; keep 0 then takes the two finished ones left.
    assert prune_target_dirs(targets, store, keep=2, current=current.name) == []
    assert sorted(prune_target_dirs(targets, store, keep=0, current=current.name)) == sorted(
        [soaked, newest]
    )
    assert (resumable / "target.log").exists() and (running / "target.log").exists()


def test_a_missing_folder_and_a_bad_bound(store: Store, tmp_path: Path) -> None:
    assert prune_target_dirs(tmp_path / "absent", store, keep=3, current="x") == []
    with pytest.raises(ValueError, match="keep must be 0 or more, not -1"):
        prune_target_dirs(tmp_path, store, keep=-1, current="x")
