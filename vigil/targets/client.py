"""An HTTP client for the target contract (health, predict, feedback, evaluation, ...).

Every call has an explicit timeout. Transport failures become
:class:`~vigil.errors.TargetUnavailableError`; answers that break the contract
(unexpected status, malformed body) become
:class:`~vigil.errors.TargetProtocolError`, which checks turn into failed
results. This client serves checks and control calls; load generation uses
``vigil.load``, which is built for throughput.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vigil.errors import TargetProtocolError, TargetUnavailableError
from vigil.targets.base import TargetEndpoint


class _Answer(BaseModel):
    """Base of parsed answers: tolerant of extra fields a user's system may add.

    Only keys go into pydantic's process-wide cache of parsed strings: the values are mostly
    ids and versions that differ per answer, and caching them would only fill that cache
    during a soak (about 5,000 entries an hour, ``benchmarks/soak/RESULTS.md``).
    """

    model_config = ConfigDict(extra="allow", cache_strings="keys")


AnswerT = TypeVar("AnswerT", bound=_Answer)


class Health(_Answer):
    """`GET /health`."""

    status: str
    model_version: str | None = None
    components: dict[str, Any] = Field(default_factory=dict)


class Prediction(_Answer):
    """`POST /predict`."""

    request_id: str = Field(min_length=1)
    prediction: int | float | str | bool
    score: float | None = None
    model_version: str = Field(min_length=1)


class QualityWindow(_Answer):
    """Prequential quality over a window or since start."""

    count: int = Field(ge=0)
    accuracy: float | None = None
    log_loss: float | None = None


class Evaluation(_Answer):
    """`GET /evaluation`."""

    model_version: str | None = None
    window: QualityWindow
    total: QualityWindow


class Incident(_Answer):
    """One entry of `GET /incidents`."""

    id: str
    kind: str
    detected_at: datetime
    recovered_at: datetime | None = None
    action: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)


class IncidentList(_Answer):
    """`GET /incidents`."""

    incidents: list[Incident]


class TargetClient:
    """Synchronous client of one target; use as a context manager."""

    def __init__(self, endpoint: TargetEndpoint, *, timeout_s: float | None = None) -> None:
        self.endpoint = endpoint
        timeout = timeout_s if timeout_s is not None else endpoint.request_timeout_s
        self._http = httpx.Client(
            base_url=endpoint.base_url, timeout=httpx.Timeout(timeout), follow_redirects=False
        )

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; only transport failures raise (TargetUnavailableError)."""
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise TargetUnavailableError(
                f"{method} {self.endpoint.base_url}{path} timed out after "
                f"{self._http.timeout.read:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise TargetUnavailableError(
                f"{method} {self.endpoint.base_url}{path} failed: {exc or type(exc).__name__}"
            ) from exc

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request to an /admin endpoint with the target's bearer token."""
        token = self.endpoint.admin_token
        if token is None:
            raise TargetProtocolError(
                f"target {self.endpoint.name!r} has no admin token configured"
            )
        headers = {"Authorization": f"Bearer {token.resolve().get_secret_value()}"}
        return self.request(method, path, headers=headers, **kwargs)

    def _parse(
        self, response: httpx.Response, model: type[AnswerT], expected: tuple[int, ...] = (200,)
    ) -> AnswerT:
        where = f"{response.request.method} {response.request.url.path}"
        if response.status_code not in expected:
            raise TargetProtocolError(
                f"{where} answered {response.status_code} (expected "
                f"{' or '.join(map(str, expected))}): {response.text[:300]}",
                status_code=response.status_code,
            )
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(map(str, first["loc"])) or "(body)"
            raise TargetProtocolError(
                f"{where} answered a body that breaks the contract at {field}: {first['msg']}",
                status_code=response.status_code,
            ) from exc

    def health(self) -> Health:
        """The target's health; a 503 with a body is a valid 'down' answer."""
        response = self.request("GET", self.endpoint.health_path)
        return self._parse(response, Health, expected=(200, 503))

    def metrics_text(self) -> str:
        """The Prometheus exposition text of `GET /metrics`."""
        response = self.request("GET", "/metrics")
        if response.status_code != 200:
            raise TargetProtocolError(
                f"GET /metrics answered {response.status_code}", status_code=response.status_code
            )
        return response.text

    def predict(self, features: dict[str, float | int | str]) -> Prediction:
        """Ask for a prediction."""
        return self._parse(
            self.request("POST", "/predict", json={"features": features}), Prediction
        )

    def feedback(self, request_id: str, label: int | bool) -> None:
        """Send the true label of an earlier prediction; the target must accept it (2xx)."""
        response = self.request(
            "POST", "/feedback", json={"request_id": request_id, "label": label}
        )
        if not 200 <= response.status_code < 300:
            raise TargetProtocolError(
                f"POST /feedback for {request_id} answered {response.status_code}: "
                f"{response.text[:300]}",
                status_code=response.status_code,
            )

    def evaluation(self, window: int | None = None) -> Evaluation:
        """The target's rolling model quality."""
        params = {"window": window} if window is not None else None
        return self._parse(self.request("GET", "/evaluation", params=params), Evaluation)

    def incidents(self, since: datetime | None = None) -> list[Incident]:
        """Incidents the target's self-healing recorded since `since`."""
        params = {"since": since.isoformat()} if since else None
        response = self.request("GET", "/incidents", params=params)
        return self._parse(response, IncidentList).incidents
