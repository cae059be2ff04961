"""Faults a target offers through its own admin API (the reference's test hooks)."""

from __future__ import annotations

from vigil.errors import FaultRollbackError, TargetProtocolError, TargetUnavailableError
from vigil.faults.base import ActiveFault, FaultContext, FaultEvidence
from vigil.faults.config import BadModelDeployConfig, ErrorSpikeConfig
from vigil.targets.client import TargetClient

_ADMIN_TIMEOUT_S = 5.0


class ErrorSpikeFault(ActiveFault):
    """`POST /admin/faults/errors`: the answering worker fails /predict at a rate for a while.

    Rollback sets the rate to zero in whichever worker answers; a worker the target
    already replaced has taken its fault with it.
    """

    kind = "error_spike"

    def __init__(self, config: ErrorSpikeConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: ErrorSpikeConfig = config
        self.answer: dict[str, object] = {}

    def _post(self, rate: float, seconds: float) -> dict[str, object]:
        with TargetClient(self.context.endpoint, timeout_s=_ADMIN_TIMEOUT_S) as client:
            response = client.admin(
                "POST", "/admin/faults/errors", json={"rate": rate, "seconds": seconds}
            )
        if response.status_code != 200:
            raise TargetProtocolError(
                f"POST /admin/faults/errors answered {response.status_code}: {response.text[:200]}",
                status_code=response.status_code,
            )
        return dict(response.json())

    def apply(self) -> None:
        self.answer = self._post(self.config.rate, self.config.seconds)

    def effect(self) -> FaultEvidence:
        pid = self.answer.get("worker_pid")
        return FaultEvidence(bool(pid), f"worker {pid}: {self.answer.get('detail', '')}")

    def revert(self) -> bool:
        try:
            self._post(0.0, 0.001)
        except (TargetUnavailableError, TargetProtocolError) as exc:
            raise FaultRollbackError(
                f"{self.name}: could not switch the error hook off ({exc}); it ends by itself "
                f"{self.config.seconds:g} s after injection"
            ) from exc
        return True

    def rollback_held(self) -> FaultEvidence:
        return self._target_healthy()


class BadModelDeployFault(ActiveFault):
    """`POST /admin/models/deploy {"corrupt": true}`: a model with inverted outputs goes live.

    A self-healing target notices the regression and rolls back by itself; vigil's
    rollback serves the previous version again only if the corrupt one still serves.
    """

    kind = "bad_model_deploy"

    def __init__(self, config: BadModelDeployConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: BadModelDeployConfig = config
        self.previous: str | None = None
        self.deployed: str | None = None

    def _active(self) -> str | None:
        with TargetClient(self.context.endpoint, timeout_s=_ADMIN_TIMEOUT_S) as client:
            response = client.admin("GET", "/admin/models")
        if response.status_code != 200:
            raise TargetProtocolError(
                f"GET /admin/models answered {response.status_code}: {response.text[:200]}",
                status_code=response.status_code,
            )
        return response.json().get("active")

    def prepare(self) -> None:
        self.previous = self._active()

    def apply(self) -> None:
        with TargetClient(self.context.endpoint, timeout_s=_ADMIN_TIMEOUT_S) as client:
            response = client.admin("POST", "/admin/models/deploy", json={"corrupt": True})
        if response.status_code != 200:
            raise TargetProtocolError(
                f"POST /admin/models/deploy answered {response.status_code}: {response.text[:200]}",
                status_code=response.status_code,
            )
        self.deployed = response.json()["name"]

    def effect(self) -> FaultEvidence:
        active = self._active()
        return FaultEvidence(
            active == self.deployed, f"serving {active} (deployed corrupt {self.deployed})"
        )

    def persists(self) -> bool | None:
        try:
            return self._active() == self.deployed
        except (TargetUnavailableError, TargetProtocolError):
            return None

    def revert(self) -> bool:
        try:
            if self._active() != self.deployed:
                return False
            with TargetClient(self.context.endpoint, timeout_s=_ADMIN_TIMEOUT_S) as client:
                response = client.admin(
                    "POST", "/admin/models/rollback", json={"to": self.previous}
                )
        except (TargetUnavailableError, TargetProtocolError) as exc:
            raise FaultRollbackError(
                f"{self.name}: corrupt model {self.deployed} may still serve ({exc}); roll "
                f"back to {self.previous} with POST /admin/models/rollback"
            ) from exc
        if response.status_code != 200:
            raise FaultRollbackError(
                f"{self.name}: corrupt model {self.deployed} still serves: rollback answered "
                f"{response.status_code}: {response.text[:200]}"
            )
        return True

    def rollback_held(self) -> FaultEvidence:
        active = self._active()
        return FaultEvidence(active != self.deployed, f"serving {active}")
