"""A stand-in for a vigil process that holds a fault: injects it, reports, then waits.

Run as ``python fault_holder.py <store-url> <base-url> <data-dir> <kind> <mode>``: it
finds the reference's processes by command-line pattern (an http target, as for a
service vigil did not start), injects `kind` with a long maximum duration and prints
``injected <pid>``. Mode ``sleep`` then waits to be killed; ``signals`` waits inside
``rollback_on_signals`` (so SIGTERM rolls the fault back first); ``fail`` raises
inside the experiment's try/finally, as a failing step would.
"""

from __future__ import annotations

import sys
import time

from vigil.config import HttpTargetConfig, ProcessSelector
from vigil.faults import inject
from vigil.faults.base import FaultContext, roll_back_all
from vigil.faults.config import ProcessHangConfig
from vigil.faults.signals import rollback_on_signals
from vigil.store import Store
from vigil.targets import open_target


def main(store_url: str, base_url: str, data_dir: str, kind: str, mode: str) -> None:
    target = open_target(
        HttpTargetConfig(
            name="reference",
            base_url=base_url,
            process=ProcessSelector(cmdline_pattern=f"-m reference .*--data-dir {data_dir}"),
        ),
        None,  # type: ignore[arg-type]
    )
    target.start()
    context = FaultContext(endpoint=target.endpoint, target=target, store=Store.open(store_url))
    assert kind == "process_hang"
    with rollback_on_signals():
        fault = inject(ProcessHangConfig(max_duration_s=300), context)
        try:
            assert fault.effect().ok
            print(f"injected {fault.process.pid}", flush=True)  # type: ignore[attr-defined]
            if mode == "fail":
                raise RuntimeError("the step failed on purpose")
            time.sleep(300)
        finally:
            if mode == "fail":
                roll_back_all()


if __name__ == "__main__":
    main(*sys.argv[1:6])
