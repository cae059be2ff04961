"""A stand-in for vigil in the orphan tests: start the reference target, then wait.

Prints the pids of the guard and of every target process on one line once the
target is healthy. SIGTERM unwinds like Ctrl-C, as in `vigil validate`. SIGINT gets
Python's own handler back: a process started in the background of a non-interactive shell
(a CI script's `cmd &`) inherits SIGINT ignored, and Ctrl-C is what this stand-in is for.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from vigil.config import load_config
from vigil.targets import open_target


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    config = load_config(None, "development")
    target = open_target(config.target, Path(sys.argv[1]))
    with target:
        pids = [target.guard_pid, *(p.pid for p in target.processes())]
        print(" ".join(map(str, pids)), flush=True)
        time.sleep(600)


if __name__ == "__main__":
    main()
