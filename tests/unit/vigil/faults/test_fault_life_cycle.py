"""The life cycle every fault shares: timer, idempotent rollback, journal, failure message."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vigil.errors import FaultRollbackError
from vigil.faults.base import ActiveFault, FaultContext, FaultEvidence, active_faults
from vigil.faults.config import ProcessHangConfig
from vigil.store import Store
from vigil.targets.base import TargetEndpoint

ENDPOINT = TargetEndpoint(name="t", kind="http", base_url="http://127.0.0.1:9")


class StubbornFault(ActiveFault):
    """A fault whose undo breaks, as a Docker engine gone away would."""

    kind = "process_hang"
    journalled = True
    reverts = 0

    def apply(self) -> None:
        return None

    def effect(self) -> FaultEvidence:
        return FaultEvidence(True, "applied")

    def revert(self) -> bool:
        type(self).reverts += 1
        raise RuntimeError("engine went away")

    def rollback_held(self) -> FaultEvidence:
        return FaultEvidence(False, "still broken")


def test_a_failed_rollback_says_the_fault_may_still_be_active_and_keeps_its_journal(
    tmp_path: Path,
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    fault = StubbornFault.inject(
        ProcessHangConfig(label="stuck", max_duration_s=60), FaultContext(ENDPOINT, store=store)
    )
    assert fault in active_faults()
    with pytest.raises(FaultRollbackError, match=r"stuck .* may still be active: RuntimeError"):
        fault.rollback()
    with pytest.raises(FaultRollbackError):
        fault.rollback()  # the same outcome, not a second attempt
    assert StubbornFault.reverts == 1
    assert [e.label for e in store.active_faults()] == ["stuck"]  # for the next vigil to retry
    assert fault not in active_faults()


def test_the_timer_rolls_back_at_the_maximum_duration() -> None:
    class Quiet(StubbornFault):
        def revert(self) -> bool:
            return True

    fault = Quiet.inject(ProcessHangConfig(max_duration_s=0.2), FaultContext(ENDPOINT))
    time.sleep(0.6)
    assert fault.rolled_back_at is not None and fault.rollback_acted
    assert fault.rollback() is True
