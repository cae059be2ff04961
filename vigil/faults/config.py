"""Configuration of faults, scenarios and the recovery part of the workflow suite.

Every fault kind has one typed model; :data:`FaultConfig` is their discriminated
union on ``kind``, so a scenario file with a wrong field or an unknown kind is
rejected before anything is touched.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from vigil.config_base import StrictModel, SuiteSettings

MAX_FAULT_S = 3600.0


class ProcessRole(StrEnum):
    """Which process of the target a process fault hits."""

    WORKER = "worker"
    """A child of the service's top process (the reference's uvicorn workers)."""
    MAIN = "main"
    """The service's top process itself (the reference's supervisor)."""


class _FaultBase(StrictModel):
    """What every fault shares: a label, its expected diagnosis and its hard time bound."""

    label: str | None = Field(
        default=None, max_length=64, description="Name in reports; default: the kind."
    )
    expect: str | None = Field(
        default=None,
        max_length=64,
        description="Incident kind the target should diagnose (e.g. worker_crash); "
        "None: diagnosis is not judged for this fault.",
    )
    max_duration_s: float = Field(
        default=15.0,
        gt=0,
        le=MAX_FAULT_S,
        description="The fault is reverted after this long whatever happens (a timer thread).",
    )

    @property
    def name(self) -> str:
        """The label, or the kind."""
        return self.label or str(getattr(self, "kind"))  # noqa: B009


class _ProcessFault(_FaultBase):
    role: ProcessRole = Field(
        default=ProcessRole.WORKER, description="Hit a worker or the service's top process."
    )
    worker_index: int = Field(
        default=0, ge=0, le=1024, description="Which worker (oldest first) when role is worker."
    )


class ProcessKillConfig(_ProcessFault):
    """SIGKILL one process of the target; rollback restarts the target if it did not heal."""

    kind: Literal["process_kill"] = "process_kill"


class ProcessTerminateConfig(_ProcessFault):
    """SIGTERM one process of the target; rollback restarts the target if it did not heal."""

    kind: Literal["process_terminate"] = "process_terminate"


class ProcessHangConfig(_ProcessFault):
    """SIGSTOP one process of the target; rollback sends SIGCONT."""

    kind: Literal["process_hang"] = "process_hang"


class ProcessRestartConfig(_FaultBase):
    """Restart the target: vigil's own process target, or SIGTERM to a found one's process."""

    kind: Literal["process_restart"] = "process_restart"
    replaced_within_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="A found process must be replaced by its process manager within this.",
    )


class ContainerKillConfig(_FaultBase):
    """SIGKILL the target's container; rollback starts it again."""

    kind: Literal["container_kill"] = "container_kill"


class ContainerStopConfig(_FaultBase):
    """Stop the target's container (SIGTERM, then SIGKILL); rollback starts it again."""

    kind: Literal["container_stop"] = "container_stop"
    timeout_s: int = Field(default=5, ge=0, le=300, description="Grace before SIGKILL.")


class ContainerPauseConfig(_FaultBase):
    """Freeze the target's container (cgroup freezer); rollback unpauses it."""

    kind: Literal["container_pause"] = "container_pause"


class ContainerRestartConfig(_FaultBase):
    """Restart the target's container in place."""

    kind: Literal["container_restart"] = "container_restart"
    timeout_s: int = Field(default=5, ge=0, le=300, description="Grace before SIGKILL.")


class NetworkLatencyConfig(_FaultBase):
    """Delay every chunk through vigil's fault proxy."""

    kind: Literal["network_latency"] = "network_latency"
    latency_ms: float = Field(default=200.0, ge=0, le=60_000, description="Added delay.")
    jitter_ms: float = Field(
        default=0.0, ge=0, le=60_000, description="Uniform extra delay in [0, jitter]."
    )


class NetworkBandwidthConfig(_FaultBase):
    """Limit each direction of each connection through the proxy to a byte rate."""

    kind: Literal["network_bandwidth"] = "network_bandwidth"
    bytes_per_s: int = Field(
        default=10_000, ge=100, le=10_000_000_000, description="Rate per direction."
    )


class NetworkResetConfig(_FaultBase):
    """Reset (RST) every new connection through the proxy and the open ones."""

    kind: Literal["network_reset"] = "network_reset"


class NetworkBlackholeConfig(_FaultBase):
    """Accept connections at the proxy and never answer."""

    kind: Literal["network_blackhole"] = "network_blackhole"


class NetworkRefuseConfig(_FaultBase):
    """Close the proxy's listening socket: connections are refused."""

    kind: Literal["network_refuse"] = "network_refuse"


class ErrorSpikeConfig(_FaultBase):
    """Ask the target's test hook for a burst of 500s (`POST /admin/faults/errors`)."""

    kind: Literal["error_spike"] = "error_spike"
    rate: float = Field(default=1.0, gt=0, le=1, description="Share of /predict answered 500.")
    seconds: float = Field(default=10.0, gt=0, le=600, description="How long the hook lasts.")


class BadModelDeployConfig(_FaultBase):
    """Deploy a corrupt model through the admin API; rollback restores the previous version."""

    kind: Literal["bad_model_deploy"] = "bad_model_deploy"


class SqliteLockConfig(_FaultBase):
    """Make the target's SQLite database unreachable: hold its exclusive write lock."""

    kind: Literal["sqlite_lock"] = "sqlite_lock"
    database: Path = Field(description="The target's SQLite file (it must exist).")


class DatabaseRefuseConfig(_FaultBase):
    """Refuse the target's database connections (PostgreSQL or any TCP database).

    The target must reach its database through vigil's fault proxy (the experiment's
    ``dependency_proxy``); the proxy then refuses new connections and resets open ones.
    """

    kind: Literal["database_refused"] = "database_refused"


class PoisonedFeedbackConfig(_FaultBase):
    """The experiment's background traffic sends wrong labels at this rate."""

    kind: Literal["poisoned_feedback"] = "poisoned_feedback"
    rate: float = Field(default=0.5, gt=0, le=1, description="Share of labels inverted.")


class InputDriftConfig(_FaultBase):
    """The experiment's background traffic shifts every numeric feature by this much."""

    kind: Literal["input_drift"] = "input_drift"
    shift: float = Field(
        default=5.0, ge=-1e6, le=1e6, description="Added to every numeric feature."
    )


class CpuBurnConfig(_FaultBase):
    """Busy-loop processes (children of vigil) that compete with the target for CPU."""

    kind: Literal["cpu_burn"] = "cpu_burn"
    processes: int = Field(default=1, ge=1, le=64, description="Busy processes started.")


class MemoryBalloonConfig(_FaultBase):
    """A child process of vigil that holds this much resident memory."""

    kind: Literal["memory_balloon"] = "memory_balloon"
    megabytes: int = Field(default=100, ge=1, le=65_536, description="Memory held.")


class DiskFillConfig(_FaultBase):
    """Write one file of this size inside `directory` (never elsewhere); rollback deletes it."""

    kind: Literal["disk_fill"] = "disk_fill"
    directory: Path = Field(description="Existing directory the filler file is written into.")
    megabytes: int = Field(default=100, ge=1, le=1_048_576, description="Size of the file.")


class FdExhaustionConfig(_FaultBase):
    """A child process of vigil that opens this many file descriptors and holds them."""

    kind: Literal["fd_exhaustion"] = "fd_exhaustion"
    descriptors: int = Field(default=1000, ge=1, le=1_000_000, description="Descriptors held.")


FaultConfig = Annotated[
    ProcessKillConfig
    | ProcessTerminateConfig
    | ProcessHangConfig
    | ProcessRestartConfig
    | ContainerKillConfig
    | ContainerStopConfig
    | ContainerPauseConfig
    | ContainerRestartConfig
    | NetworkLatencyConfig
    | NetworkBandwidthConfig
    | NetworkResetConfig
    | NetworkBlackholeConfig
    | NetworkRefuseConfig
    | ErrorSpikeConfig
    | BadModelDeployConfig
    | SqliteLockConfig
    | DatabaseRefuseConfig
    | PoisonedFeedbackConfig
    | InputDriftConfig
    | CpuBurnConfig
    | MemoryBalloonConfig
    | DiskFillConfig
    | FdExhaustionConfig,
    Field(discriminator="kind"),
]


class SteadyStateConfig(StrictModel):
    """The steady-state hypothesis: probes over a window, with tolerances."""

    duration_s: float = Field(
        default=1.0, gt=0, le=600, description="How long the probes are watched."
    )
    min_ok_share: float = Field(
        default=1.0, ge=0, le=1, description="Share of probes that must be good."
    )
    max_latency_ms: float = Field(
        default=250.0,
        gt=0,
        le=60_000,
        description="A probe slower than this counts as failed (a queued request is not service).",
    )


class TrafficConfig(StrictModel):
    """Background traffic during an experiment: predictions each followed by their label."""

    rate_per_s: float = Field(
        default=10.0, ge=0, le=10_000, description="Prediction+feedback pairs per second."
    )
    max_pairs: int = Field(
        default=5_000, ge=0, le=10_000_000, description="The stream stops after this many."
    )
    timeout_s: float = Field(default=2.0, gt=0, le=60, description="Timeout of each request.")


class ScheduledFault(StrictModel):
    """One fault of a scenario and when it starts."""

    wait_before_s: float = Field(
        default=0.0, ge=0, le=3600, description="Pause after the previous step before injecting."
    )
    fault: FaultConfig = Field(description="The fault to inject.")


class ScenarioConfig(StrictModel):
    """A named list of faults with timing and the background traffic that runs meanwhile."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    description: str = Field(default="", max_length=1000, description="What it represents.")
    traffic: TrafficConfig = Field(default_factory=TrafficConfig)
    faults: list[ScheduledFault] = Field(
        default_factory=list, max_length=1000, description="Faults, injected one after another."
    )


class RecoveryPartConfig(SuiteSettings):
    """Settings of the recovery part of the workflow suite (``suites.workflow.recovery``).

    Defaults are the development profile's.
    """

    scenario: str = Field(
        default="component_failure",
        min_length=1,
        max_length=1024,
        description="A built-in scenario name (normal_operations, high_load, error_injection, "
        "component_failure) or the path of a scenario YAML file.",
    )
    settle_s: float = Field(
        default=1.0,
        ge=0.1,
        le=600,
        description="Probes must stay good this long for the service to count as recovered.",
    )
    max_fault_duration_s: float | None = Field(
        default=12.0,
        gt=0,
        le=MAX_FAULT_S,
        description="Caps every fault's max_duration_s: after it vigil rolls the fault back.",
    )
    probe_interval_s: float = Field(
        default=0.1, ge=0.01, le=0.1, description="Time between probes (100 ms or finer)."
    )
    probe_timeout_s: float = Field(
        default=1.0, gt=0, le=60, description="A probe not answered within this has failed."
    )
    steady_state: SteadyStateConfig = Field(default_factory=SteadyStateConfig)
    recovery_budget_s: float = Field(
        default=300.0, gt=0, le=86_400, description="Each injection must recover within this."
    )
    not_self_healed_mttr_s: float = Field(
        default=600.0,
        gt=0,
        le=86_400,
        description="mttr_s reported when any fault needed vigil's rollback (keep it above "
        "the MTTR budget: such a run must fail mttr_within_budget).",
    )
    evaluation_rows: int = Field(
        default=30,
        ge=5,
        le=100_000,
        description="Labelled rows sent before the faults and after recovery to compare quality.",
    )
    evaluation_tolerance: float = Field(
        default=0.15,
        ge=0,
        le=1,
        description="Accuracy after recovery may be this much below the pre-fault level.",
    )
    feedback_settle_s: float = Field(
        default=5.0,
        ge=0,
        le=600,
        description="How long to wait for acknowledged feedback to be counted after recovery.",
    )

    @model_validator(mode="after")
    def _cap_above_budget(self) -> RecoveryPartConfig:
        if self.not_self_healed_mttr_s <= self.recovery_budget_s:
            raise ValueError(
                f"not_self_healed_mttr_s ({self.not_self_healed_mttr_s:g}) must exceed "
                f"recovery_budget_s ({self.recovery_budget_s:g}), or a fault vigil had to "
                "roll back could still pass"
            )
        return self
