"""Rolling back active faults when vigil is told to stop (SIGTERM, SIGHUP, SIGINT).

A ``finally`` block does not run when a process dies of an unhandled signal, so
while faults are active the handlers installed here roll every one back first and
then let the signal do what it did before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from vigil.faults.base import roll_back_all

logger = logging.getLogger("vigil.faults")

HANDLED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@contextlib.contextmanager
def rollback_on_signals() -> Iterator[None]:
    """While the block runs, a stop signal first rolls back every active fault.

    Only the main thread may install signal handlers; elsewhere this does nothing
    (the ``finally`` blocks and the faults' timers still apply).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handle(signum: int, frame: FrameType | None) -> None:
        logger.warning("%s: rolling back active faults first", signal.Signals(signum).name)
        for problem in roll_back_all():
            logger.error("%s", problem)
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        elif before == signal.SIG_IGN:
            return
        else:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    for signum in HANDLED:
        previous[signum] = signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)
