"""The fault kinds: each configuration ``kind`` mapped to the class that injects it."""

from __future__ import annotations

from vigil.errors import ConfigError
from vigil.faults.base import ActiveFault, FaultContext
from vigil.faults.config import FaultConfig
from vigil.faults.container import (
    ContainerKillFault,
    ContainerPauseFault,
    ContainerRestartFault,
    ContainerStopFault,
)
from vigil.faults.data import InputDriftFault, PoisonedFeedbackFault
from vigil.faults.dependency import DatabaseRefuseFault, SqliteLockFault
from vigil.faults.hooks import BadModelDeployFault, ErrorSpikeFault
from vigil.faults.network import (
    NetworkBandwidthFault,
    NetworkBlackholeFault,
    NetworkLatencyFault,
    NetworkRefuseFault,
    NetworkResetFault,
)
from vigil.faults.process import (
    ProcessHangFault,
    ProcessKillFault,
    ProcessRestartFault,
    ProcessTerminateFault,
)
from vigil.faults.resource import (
    CpuBurnFault,
    DiskFillFault,
    FdExhaustionFault,
    MemoryBalloonFault,
)

FAULT_KINDS: dict[str, type[ActiveFault]] = {
    "process_kill": ProcessKillFault,
    "process_terminate": ProcessTerminateFault,
    "process_hang": ProcessHangFault,
    "process_restart": ProcessRestartFault,
    "container_kill": ContainerKillFault,
    "container_stop": ContainerStopFault,
    "container_pause": ContainerPauseFault,
    "container_restart": ContainerRestartFault,
    "network_latency": NetworkLatencyFault,
    "network_bandwidth": NetworkBandwidthFault,
    "network_reset": NetworkResetFault,
    "network_blackhole": NetworkBlackholeFault,
    "network_refuse": NetworkRefuseFault,
    "error_spike": ErrorSpikeFault,
    "bad_model_deploy": BadModelDeployFault,
    "sqlite_lock": SqliteLockFault,
    "database_refused": DatabaseRefuseFault,
    "poisoned_feedback": PoisonedFeedbackFault,
    "input_drift": InputDriftFault,
    "cpu_burn": CpuBurnFault,
    "memory_balloon": MemoryBalloonFault,
    "disk_fill": DiskFillFault,
    "fd_exhaustion": FdExhaustionFault,
}


def inject(config: FaultConfig, context: FaultContext) -> ActiveFault:
    """Inject the fault `config` describes and return its handle.

    Raises:
        ConfigError: no fault class is registered for the config's kind.
        TargetUnavailableError: the target lacks what the fault needs.
    """
    fault_class = FAULT_KINDS.get(config.kind)
    if fault_class is None:
        raise ConfigError(
            f"fault kind {config.kind!r} has no implementation; known: {', '.join(FAULT_KINDS)}"
        )
    return fault_class.inject(config, context)
