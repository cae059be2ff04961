"""A self-healing check for the integration suite: kill a worker, expect the target to heal.

In the style of :mod:`vigil.contract`: one function, one :class:`CheckResult`,
never raising to report that the target misbehaved.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from vigil.config import Capability
from vigil.errors import FaultRollbackError, TargetUnavailableError, VigilError
from vigil.faults.base import FaultContext
from vigil.faults.config import ProcessKillConfig
from vigil.results import CheckResult, Status, utc_now
from vigil.targets.base import Target, TargetEndpoint
from vigil.targets.client import TargetClient

NAME = "worker_crash_is_healed"


def worker_crash_is_healed(
    endpoint: TargetEndpoint, target: Target | None, within_s: float = 30.0
) -> CheckResult:
    """SIGKILL one worker; pass if the target reports a recovered incident and serves again.

    Args:
        endpoint: The started target.
        target: Its live adapter (``vigil.targets.running_target``), for process control.
        within_s: How long the target has to heal.
    """
    from vigil.faults import inject

    started = utc_now()
    needed = {Capability.PROCESS_CONTROL, Capability.INCIDENTS}
    missing = needed - endpoint.capabilities
    if missing or target is None:
        why = ", ".join(sorted(missing)) if missing else "no live adapter in this process"
        return CheckResult(
            name=NAME, status=Status.NOT_APPLICABLE, message=f"needs {why}", started_at=started
        )
    since = datetime.now(UTC)
    try:
        fault = inject(
            ProcessKillConfig(label="integration_worker_kill", max_duration_s=within_s),
            FaultContext(endpoint=endpoint, target=target),
        )
    except TargetUnavailableError as exc:
        return CheckResult(name=NAME, status=Status.ERROR, message=str(exc), started_at=started)
    deadline = time.monotonic() + within_s
    incident = None
    try:
        with TargetClient(endpoint, timeout_s=2.0) as client:
            while time.monotonic() < deadline:
                try:
                    incidents = client.incidents(since)
                    incident = next((i for i in incidents if i.recovered_at is not None), None)
                    if incident is not None and client.health().status == "ok":
                        break
                except VigilError:
                    pass
                time.sleep(0.2)
    finally:
        try:
            restored_by_vigil = fault.rollback()
        except FaultRollbackError as exc:
            return CheckResult(name=NAME, status=Status.ERROR, message=str(exc), started_at=started)
    if incident is None or restored_by_vigil:
        return CheckResult(
            name=NAME,
            status=Status.FAILED,
            message=f"a SIGKILLed worker was not healed within {within_s:g} s: the target "
            "reported no recovered incident"
            + ("; vigil restarted the target" if restored_by_vigil else ""),
            started_at=started,
        )
    took = (incident.recovered_at - since).total_seconds()  # type: ignore[operator]
    return CheckResult(
        name=NAME,
        status=Status.PASSED,
        message=f"a SIGKILLed worker was diagnosed as {incident.kind} and healed "
        f"({incident.action}) in {took:.2f} s",
        measured={"heal_s": took},
        started_at=started,
    )
