"""Reverting faults that a vigil process left behind when it died.

Every fault that can outlive vigil (a stopped process, a paused container, a
filler file, a proxy in a fault mode) is journalled in the store before it is
applied and cleared once its rollback held. :func:`revert_journalled_faults`
runs at every vigil start: it reverts each entry whose owner is no longer
running (or that is past its maximum duration) and clears it.
"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime

from vigil.errors import FaultRollbackError
from vigil.faults.base import same_process
from vigil.store import ActiveFaultRecord, Store

logger = logging.getLogger("vigil.faults")


def _abandoned(entry: ActiveFaultRecord, now: datetime) -> bool:
    """Whether no live vigil process still owns this fault (or it is past its time)."""
    if entry.expires_at is not None and entry.expires_at < now:
        return True
    if entry.host and entry.host != socket.gethostname():
        # Another machine's vigil owns it; only that machine can tell if it is alive.
        return False
    return same_process(entry.owner_pid, entry.owner_started_at) is None


def revert_journalled_faults(store: Store) -> list[str]:
    """Revert and clear every journalled fault whose vigil process is gone.

    Args:
        store: vigil's store, which holds the journal.

    Returns:
        One line per reverted fault, saying what was done.

    Raises:
        FaultRollbackError: some fault could not be reverted; the message names each one
            and what is left broken (their entries stay in the journal for the next try).
    """
    from vigil.faults import FAULT_KINDS

    now = datetime.now(UTC)
    done: list[str] = []
    problems: list[str] = []
    for entry in store.active_faults():
        if not _abandoned(entry, now):
            continue
        kind = FAULT_KINDS.get(entry.kind)
        if kind is None:
            problems.append(f"{entry.label or entry.kind}: unknown fault kind {entry.kind!r}")
            continue
        try:
            what = kind.revert_journalled(entry)
        except FaultRollbackError as exc:
            problems.append(str(exc))
            continue
        store.clear_fault(entry.id)
        line = f"{entry.label or entry.kind} of run {entry.run_id or '?'}: {what}"
        logger.warning("reverted a fault left behind by a vigil that died: %s", line)
        done.append(line)
    if problems:
        raise FaultRollbackError(
            "faults left behind by an earlier vigil could not be reverted: " + "; ".join(problems)
        )
    return done
