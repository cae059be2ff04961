"""Shared memory between the supervisor and its workers: the private health channel.

Each worker owns one slot and writes its heartbeat (``time.monotonic()``, which is
system-wide on Linux), request and 5xx counters and buffer size into it; the
supervisor reads the slots to detect hangs and error spikes and writes the pids
and the desired configuration. Aligned 8-byte stores are atomic on the
platforms we run on, so no lock is taken on the hot path.
"""

from __future__ import annotations

import multiprocessing
from enum import IntEnum
from multiprocessing.sharedctypes import SynchronizedArray

from reference.settings import MAX_WORKERS


class SlotField(IntEnum):
    """Fields of one worker slot."""

    PID = 0
    HEARTBEAT = 1
    REQUESTS = 2
    ERRORS_5XX = 3
    BUFFERED = 4
    DEGRADED = 5
    READY = 6
    LAST_COMMIT = 7


class ControlField(IntEnum):
    """Service-wide fields."""

    SUPERVISOR_PID = 0
    DESIRED_WORKERS = 1
    CACHE_SIZE = 2
    LEARNING_RATE = 3
    DB_DOWN = 4
    RESTARTS = 5
    CONFIG_GENERATION = 6


SLOT_WIDTH = len(SlotField)


class SharedState:
    """Typed access to the two shared arrays; picklable into spawned workers."""

    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        self.slots: SynchronizedArray = context.Array("d", MAX_WORKERS * SLOT_WIDTH, lock=False)
        self.control: SynchronizedArray = context.Array("d", len(ControlField), lock=False)

    def get(self, slot: int, field: SlotField) -> float:
        """Read one field of one worker slot."""
        return self.slots[slot * SLOT_WIDTH + field]

    def set(self, slot: int, field: SlotField, value: float) -> None:
        """Write one field of one worker slot."""
        self.slots[slot * SLOT_WIDTH + field] = value

    def add(self, slot: int, field: SlotField, amount: float = 1.0) -> None:
        """Increment a counter of a slot (only its owning worker writes it)."""
        index = slot * SLOT_WIDTH + field
        self.slots[index] = self.slots[index] + amount

    def clear_slot(self, slot: int) -> None:
        """Zero a slot before a new worker takes it."""
        for field in SlotField:
            self.set(slot, field, 0.0)

    def read(self, field: ControlField) -> float:
        """Read a service-wide field."""
        return self.control[field]

    def write(self, field: ControlField, value: float) -> None:
        """Write a service-wide field."""
        self.control[field] = value

    def worker_pids(self) -> list[int]:
        """Pids of every occupied slot."""
        pids = (int(self.get(slot, SlotField.PID)) for slot in range(MAX_WORKERS))
        return [pid for pid in pids if pid > 0]
