"""A stand-in for a vigil process that holds a fault: injects it, reports, then waits.

Run as ``python fault_holder.py <store-url> <base-url> <data-dir> <kind> <mode>``. For
``process_hang`` it finds the reference's processes by command-line pattern (an http
target, as for a service vigil did not start) and prints ``injected <pid>``; for
``network_blackhole`` it starts a fault proxy and prints ``injected <proxy-port>``.
Mode ``sleep`` then waits to be killed; ``signals`` waits inside
``rollback_on_signals`` (so SIGTERM rolls the fault back first); ``fail`` raises
inside the experiment's try/finally, as a failing step would.
"""

from __future__ import annotations

import sys
import time

from vigil.config import HttpTargetConfig, ProcessSelector
from vigil.faults import inject
from vigil.faults.base import FaultContext, roll_back_all
from vigil.faults.config import NetworkBlackholeConfig, ProcessHangConfig
from vigil.faults.proxy import FaultProxy
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
    if kind == "process_hang":
        config = ProcessHangConfig(max_duration_s=300)
    else:
        assert kind == "network_blackhole"
        context.proxy = FaultProxy.for_endpoint(target.endpoint)
        context.proxy.start()
        config = NetworkBlackholeConfig(max_duration_s=300)
    with rollback_on_signals():
        fault = inject(config, context)
        try:
            assert fault.effect().ok
            held = fault.process.pid if kind == "process_hang" else context.proxy.port  # type: ignore[attr-defined, union-attr]
            print(f"injected {held}", flush=True)
            if mode == "fail":
                raise RuntimeError("the step failed on purpose")
            time.sleep(300)
        finally:
            if mode == "fail":
                roll_back_all()


if __name__ == "__main__":
    main(*sys.argv[1:6])
