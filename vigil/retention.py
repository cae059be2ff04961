"""Keep vigil's working folder from growing without end: old target folders go.

Every run gives its target a folder of its own, ``<work_dir>/targets/<run id>``: the
service's data and its log. A soak's folder can hold gigabytes, and a machine that
validates nightly and soaks weekly would keep every one of them. Before a run starts
its target, vigil removes the folders of finished runs beyond the newest
``keep_target_dirs`` (:func:`prune_target_dirs`).

Nothing that may still be needed goes: a folder is removed only when the store knows its
run and the run is over for good (:meth:`vigil.store.Store.finished_runs`) -- not
running, and not a soak that could be resumed. Folders of runs from another store,
or of no run at all, are left alone.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from vigil.store import Store

_LOG = logging.getLogger(__name__)


def prune_target_dirs(targets_dir: Path, store: Store, keep: int, *, current: str) -> list[Path]:
    """Remove the target folders of finished runs, keeping the newest `keep` of them.

    Args:
        targets_dir: ``<work_dir>/targets``.
        store: The store that knows the runs.
        keep: Folders of finished runs to keep, newest first by the run's start.
        current: The id of the run about to start (its folder is never touched).

    Returns:
        The folders removed. One that cannot be removed is logged and skipped.
    """
    if keep < 0:
        raise ValueError(f"keep must be 0 or more, not {keep}")
    try:
        folders = {p.name: p for p in targets_dir.iterdir() if p.is_dir() and p.name != current}
    except FileNotFoundError:
        return []
    finished = store.finished_runs(folders)
    newest_first = sorted(finished, key=lambda run_id: finished[run_id], reverse=True)
    removed = []
    for run_id in newest_first[keep:]:
        try:
            shutil.rmtree(folders[run_id])
        except OSError as exc:
            _LOG.warning("could not remove the old target folder %s: %s", folders[run_id], exc)
            continue
        removed.append(folders[run_id])
    return removed
