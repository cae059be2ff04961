"""Container faults through the Docker SDK: kill, stop, pause, restart the target's container.

Only the container of the target's own :class:`vigil.targets.docker.DockerTarget` is
touched, by id. Kill, stop and pause are journalled: a vigil that dies mid-fault
leaves the container id behind, and the next one starts or unpauses it.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from vigil.errors import FaultRollbackError, TargetUnavailableError
from vigil.faults.base import ActiveFault, FaultContext, FaultEvidence
from vigil.faults.config import (
    ContainerKillConfig,
    ContainerPauseConfig,
    ContainerRestartConfig,
    ContainerStopConfig,
)
from vigil.store import ActiveFaultRecord
from vigil.targets.docker import DockerTarget

_STATE_WITHIN_S = 15.0


def _status(container: Any) -> str:
    from docker.errors import NotFound

    try:
        container.reload()
    except NotFound:
        return "removed"
    return str(container.status)


def _wait_status(container: Any, wanted: set[str], within_s: float = _STATE_WITHIN_S) -> str:
    deadline = time.monotonic() + within_s
    status = _status(container)
    while status not in wanted and time.monotonic() < deadline:
        time.sleep(0.1)
        status = _status(container)
    return status


class _ContainerFault(ActiveFault):
    """Base: resolve the target's container; roll back by bringing it to 'running'."""

    journalled = True
    broken_status: ClassVar[frozenset[str]] = frozenset({"exited"})

    def __init__(self, config: Any, context: FaultContext) -> None:
        super().__init__(config, context)
        self.container: Any = None

    def prepare(self) -> None:
        target = self.context.target
        if not isinstance(target, DockerTarget):
            raise TargetUnavailableError(
                f"target {self.context.endpoint.name!r} is not a docker target; container "
                "faults need target kind 'docker'"
            )
        self.container = target.container

    def journal_container(self) -> str | None:
        return str(self.container.id) if self.container is not None else None

    def effect(self) -> FaultEvidence:
        status = _wait_status(self.container, self.broken_status)
        ok = status in self.broken_status
        return FaultEvidence(ok, f"container {self.container.short_id} is {status}")

    def revert(self) -> bool:
        return _bring_up(self.container, self.name)

    def rollback_held(self) -> FaultEvidence:
        status = _wait_status(self.container, {"running"})
        if status != "running":
            return FaultEvidence(False, f"container {self.container.short_id} is {status}")
        return self._target_healthy()

    @classmethod
    def revert_journalled(cls, entry: ActiveFaultRecord) -> str:
        import docker
        from docker.errors import DockerException, NotFound

        try:
            client = docker.from_env(timeout=30)
            container = client.containers.get(entry.container_id)
        except NotFound:
            return f"container {entry.container_id} is gone"
        except DockerException as exc:
            raise FaultRollbackError(
                f"{entry.label}: container {entry.container_id} may be left {entry.kind} "
                f"(the Docker engine did not answer: {exc}); start or unpause it by hand"
            ) from exc
        acted = _bring_up(container, entry.label)
        return f"container {entry.container_id[:12]} {'brought back' if acted else 'was running'}"


def _bring_up(container: Any, name: str) -> bool:
    """Unpause or start `container`; return whether it was not running."""
    from docker.errors import DockerException

    status = _status(container)
    try:
        if status == "paused":
            container.unpause()
        elif status in ("exited", "created"):
            container.start()
        elif status == "removed":
            raise FaultRollbackError(f"{name}: the container was removed; it cannot be restarted")
        else:
            return False
    except DockerException as exc:
        raise FaultRollbackError(
            f"{name}: container {container.short_id} is left {status}: {exc}"
        ) from exc
    if _wait_status(container, {"running"}) != "running":
        raise FaultRollbackError(
            f"{name}: container {container.short_id} did not run again (status {status})"
        )
    return True


class ContainerKillFault(_ContainerFault):
    """SIGKILL the target's container."""

    kind = "container_kill"

    def apply(self) -> None:
        self.container.kill()


class ContainerStopFault(_ContainerFault):
    """Stop the target's container."""

    kind = "container_stop"

    def __init__(self, config: ContainerStopConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: ContainerStopConfig = config

    def apply(self) -> None:
        self.container.stop(timeout=self.config.timeout_s)


class ContainerPauseFault(_ContainerFault):
    """Freeze the target's container."""

    kind = "container_pause"
    broken_status: ClassVar[frozenset[str]] = frozenset({"paused"})

    def apply(self) -> None:
        self.container.pause()


class ContainerRestartFault(_ContainerFault):
    """Restart the target's container in place."""

    kind = "container_restart"
    journalled = False

    def __init__(self, config: ContainerRestartConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: ContainerRestartConfig = config
        self.started_before = ""

    def prepare(self) -> None:
        super().prepare()
        self.container.reload()
        self.started_before = self.container.attrs["State"]["StartedAt"]

    def apply(self) -> None:
        self.container.restart(timeout=self.config.timeout_s)

    def effect(self) -> FaultEvidence:
        self.container.reload()
        started = self.container.attrs["State"]["StartedAt"]
        ok = started != self.started_before
        return FaultEvidence(ok, f"container started at {started} (before: {self.started_before})")


__all__ = [
    "ContainerKillConfig",
    "ContainerKillFault",
    "ContainerPauseConfig",
    "ContainerPauseFault",
    "ContainerRestartFault",
    "ContainerStopFault",
]
