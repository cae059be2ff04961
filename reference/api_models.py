"""Request and response bodies of the HTTP contract (the shapes vigil depends on)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictStr, StringConstraints

MAX_FEATURES = 256
FeatureName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
NumericFeature = Annotated[float, Strict(), Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
CategoricalFeature = Annotated[StrictStr, Field(max_length=256)]
RequestId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
HealthStatus = Literal["ok", "degraded", "down"]


class RequestBody(BaseModel):
    """Base of every request body: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class PredictRequest(RequestBody):
    """Features of one example: numbers (finite, |x| <= 1e15) or strings (<= 256 chars)."""

    features: dict[FeatureName, NumericFeature | CategoricalFeature] = Field(
        min_length=1, max_length=MAX_FEATURES, description="1 to 256 named features."
    )


class PredictResponse(BaseModel):
    """A served prediction; keep ``request_id`` to send its label to /feedback."""

    request_id: str
    prediction: Literal[0, 1]
    score: float = Field(ge=0, le=1, description="Probability of class 1.")
    model_version: str


class FeedbackRequest(RequestBody):
    """The true label of an earlier prediction."""

    request_id: RequestId
    label: Literal[0, 1, True, False] = Field(description="0/1 or false/true.")


class FeedbackResponse(BaseModel):
    """Feedback is durable when this is returned."""

    request_id: str
    status: Literal["accepted"] = "accepted"


class EvaluationFigures(BaseModel):
    """Prequential quality over some labelled predictions."""

    count: int = Field(description="Feedback received in this scope.")
    accuracy: float | None
    log_loss: float | None


class WindowFigures(BaseModel):
    """Quality over the newest `size` labelled predictions."""

    size: int
    count: int = Field(description="Feedback received in this window.")
    accuracy: float | None
    log_loss: float | None


class EvaluationResponse(BaseModel):
    """Rolling and total prequential quality of the served model."""

    model_version: str
    window: WindowFigures
    total: EvaluationFigures


class ComponentHealth(BaseModel):
    """Health of one component, with free-form details."""

    model_config = ConfigDict(extra="allow")

    status: str


class HealthResponse(BaseModel):
    """Overall and per-component health."""

    status: HealthStatus
    model_version: str | None
    components: dict[str, ComponentHealth]
    worker_pids: list[int]
    supervisor_pid: int
    config: dict[str, float | int] = Field(
        default_factory=dict,
        description="Run-time configuration in force (workers, cache_size, learning_rate).",
    )


class IncidentBody(BaseModel):
    """One incident the self-healing detected."""

    id: str
    kind: str
    detected_at: str
    recovered_at: str | None
    action: str
    evidence: dict[str, Any]


class IncidentsResponse(BaseModel):
    """Incidents, oldest first."""

    incidents: list[IncidentBody]


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body: a message, and per-field problems for validation errors."""

    detail: str
    errors: list[dict[str, Any]] | None = None


class AdminConfigRequest(RequestBody):
    """A partial runtime configuration change."""

    workers: int | None = Field(None, ge=1, le=16, description="Worker processes.")
    cache_size: int | None = Field(
        None, ge=0, le=10_000_000, description="Recent predictions cached per worker."
    )
    learning_rate: float | None = Field(
        None, gt=0, le=10, allow_inf_nan=False, description="SGD learning rate."
    )


class AdminConfigResponse(BaseModel):
    """The configuration now in force."""

    workers: int
    cache_size: int
    learning_rate: float


class DeployRequest(RequestBody):
    """Deploy a new model version derived from the serving one."""

    version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,32}$")] | None = Field(
        None, description="Name of the new version; default v<next number>."
    )
    learning_rate: float | None = Field(None, gt=0, le=10, allow_inf_nan=False)
    corrupt: bool = Field(
        False, description="Test hook: deploy a model with inverted outputs to test rollback."
    )


class RollbackRequest(RequestBody):
    """Roll back to a named version, or to the serving version's parent."""

    to: str | None = Field(None, max_length=32)


class ModelVersionBody(BaseModel):
    """One model version."""

    name: str
    parent: str | None
    reason: str
    learning_rate: float
    corrupt: bool
    created_at: str
    active: bool


class ModelsResponse(BaseModel):
    """Every model version and the serving one."""

    active: str | None
    versions: list[ModelVersionBody]


class BackupResponse(BaseModel):
    """A completed backup."""

    backup_id: str
    path: str
    created_at: str
    feedback_count: int
    bytes: int
    sha256: str
    tables: dict[str, dict[str, Any]]
    """Per table: ``rows`` and the ``sha256`` of its backup lines (also in the manifest)."""


class RestoreRequest(RequestBody):
    """Which backup to restore."""

    backup_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class RestoreResponse(BaseModel):
    """A completed restore."""

    backup_id: str
    feedback_count: int
    model_version: str | None


class MemoryFaultRequest(RequestBody):
    """Test hook: grow this worker's memory."""

    megabytes: int = Field(ge=1, le=4096, description="Megabytes to allocate and hold.")


class ErrorFaultRequest(RequestBody):
    """Test hook: make /predict answer 500 for a while."""

    rate: float = Field(ge=0, le=1, description="Fraction of /predict calls that fail.")
    seconds: float = Field(gt=0, le=600, description="How long the fault lasts.")


class FaultResponse(BaseModel):
    """What the fault hook did, and in which worker."""

    worker_pid: int
    detail: str
